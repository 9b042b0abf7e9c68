import { expect } from 'chai';
import { createLogger } from '../../../src/logger.js';
import { RegistryStore } from '../../../src/registry/store.js';
import { ConfigMapSource } from '../../../src/sources/configmap.js';
import { replicaStates } from '../../../src/sources/events.js';
import { describeSource } from '../../../src/sources/source.js';
import { FakeKubeApi } from '../../helpers/fake-kube-api.js';
import type { StoredEvent } from '../../helpers/fake-kube-api.js';
import { pollUntil } from '../../helpers/poll.js';
import { reloadedUntil } from '../../helpers/wait.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';
import type { CoreV1Event } from '@kubernetes/client-node';

const location = { namespace: 'flex-auth', name: 'flex-auth-registry', key: 'registry.json' };
const docA = text(registryDocument([actorEntry('agt-a')]));
const docB = text(registryDocument([actorEntry('agt-b')]));

describe('Events about each revision, from the ConfigMap source (against the fake API)', () => {
  let api: FakeKubeApi;
  let store: RegistryStore;
  let sources: ConfigMapSource[];
  let logs: Record<string, unknown>[];

  beforeEach(async () => {
    api = new FakeKubeApi(location.namespace, location.name);
    await api.start();
    store = new RegistryStore(describeSource({ kind: 'configmap', ...location }));
    sources = [];
    logs = [];
  });

  afterEach(async () => {
    for (const source of sources) await source.stop();
    await api.stop();
  });

  async function start(instance: string, target = store, refreshMs = 3_600_000): Promise<void> {
    const logger = createLogger({ destination: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) } });
    const source = new ConfigMapSource(location, target, {
      logger, kubeConfig: api.kubeConfig(), backoff: { initialMs: 20, maxMs: 80 }, firstListTimeoutMs: 2000,
      events: { instance, retryDelayMs: 10, refreshMs },
    });
    sources.push(source);
    await source.start();
  }

  const events = () => [...api.events.values()];
  const eventsUntil = (predicate: (list: StoredEvent[]) => boolean, what: string) => pollUntil(async () => events(), predicate, what);

  it('records RegistryLoaded once per replica and revision, and RegistryRejected with the first errors', async () => {
    api.put({ 'registry.json': docA });
    await start('replica-a');
    const revisionA = store.status().revision!;
    const [loaded] = await eventsUntil((l) => l.length === 1, 'one Event');
    expect(loaded).to.deep.include({ reason: 'RegistryLoaded', reportingInstance: 'replica-a', message: `replica-a loaded revision ${revisionA}` });
    expect(loaded!.involvedObject).to.include({ kind: 'ConfigMap', name: location.name });
    expect(loaded!.metadata.annotations).to.include({ 'flex-auth/registry-revision': revisionA });

    const version = api.put({ 'registry.json': '{"schema":"flex-auth.registry/v1","actors":[{"name":"Bad Name"}]}' });
    const rejected = (await eventsUntil((l) => l.length === 2, 'a second Event')).find((e) => e.reason === 'RegistryRejected')!;
    expect(rejected.message).to.match(new RegExp(`^replica-a rejected resourceVersion ${version}: registry is invalid`));
    expect(rejected.metadata.annotations).not.to.have.property('flex-auth/registry-revision');

    api.put({ 'registry.json': docB });
    await reloadedUntil(store, () => store.current()?.actor('agt-b') !== undefined);
    await eventsUntil((l) => l.length === 3, 'a third Event');
    // Back to A: the same replica and revision, so the same Event, counted again.
    api.put({ 'registry.json': docA });
    await eventsUntil((l) => l.some((e) => e.count === 2), 'the first Event counted twice');
    expect(events()).to.have.length(3);
    const [state] = replicaStates(events() as unknown as CoreV1Event[]);
    expect(state).to.include({ instance: 'replica-a' });
    expect(state!.serving!.revision).to.equal(revisionA);
  });

  it('says again that it serves a revision when the ConfigMap comes back to it: after a rejection, and created anew', async () => {
    api.put({ 'registry.json': docA });
    await start('replica-a');
    const [first] = await eventsUntil((l) => l.length === 1, 'the Loaded Event');
    const uid = first!.involvedObject.uid;
    // A bad document, then A again: unchanged for the store, but the latest word must not stay "rejected".
    api.put({ 'registry.json': '{"schema":"flex-auth.registry/v1","actors":[{"name":"Bad Name"}]}' });
    await eventsUntil((l) => l.some((e) => e.reason === 'RegistryRejected'), 'the Rejected Event');
    api.put({ 'registry.json': docA });
    await eventsUntil((l) => l.some((e) => e.reason === 'RegistryLoaded' && e.count === 2), 'the Loaded Event said again');
    expect(replicaStates(events() as unknown as CoreV1Event[])[0]).not.to.have.property('rejected');
    // Deleted and created again with the same document: the Event follows the new object.
    api.delete();
    api.put({ 'registry.json': docA });
    const after = await eventsUntil((l) => l.some((e) => e.reason === 'RegistryLoaded' && e.involvedObject.uid !== uid), 'the Loaded Event on the new object');
    expect(after.find((e) => e.reason === 'RegistryLoaded')).to.deep.include({ count: 3 });
    // Relists of the same object add nothing.
    api.expireWatches();
    await api.nextRequest((r) => r.watch);
    expect(events().find((e) => e.reason === 'RegistryLoaded')!.count).to.equal(3);
  });

  it('records its latest Event again at each refresh, so a quiet replica still counts as reporting', async () => {
    api.put({ 'registry.json': docA });
    await start('replica-a', store, 40);
    await eventsUntil((l) => l.length === 1 && l[0]!.count >= 3, 'the Loaded Event refreshed twice');
    api.put({ 'registry.json': '{"schema":"flex-auth.registry/v1","actors":[{"name":"Bad Name"}]}' });
    const refreshed = await eventsUntil((l) => l.some((e) => e.reason === 'RegistryRejected' && e.count >= 3), 'the Rejected Event refreshed twice');
    // Only the latest word is refreshed: the replica still serves A, and says it rejected the rest.
    const loadedCount = refreshed.find((e) => e.reason === 'RegistryLoaded')!.count;
    await eventsUntil((l) => l.some((e) => e.reason === 'RegistryRejected' && e.count >= 5), 'more refreshes');
    expect(events().find((e) => e.reason === 'RegistryLoaded')!.count).to.equal(loadedCount);
    expect(events()).to.have.length(2);
  });

  it('one Event per replica: two replicas loading the same revision make two', async () => {
    api.put({ 'registry.json': docA });
    await start('replica-a');
    await start('replica-b', new RegistryStore(describeSource({ kind: 'configmap', ...location })));
    const list = await eventsUntil((l) => l.length === 2, 'two Events');
    expect(list.map((e) => e.reportingInstance).sort()).to.deep.equal(['replica-a', 'replica-b']);
    expect(new Set(list.map((e) => e.metadata.name)).size).to.equal(2);
  });

  it('a refused Event is logged and changes nothing about the reload', async () => {
    api.put({ 'registry.json': docA });
    api.refuseEvents(403);
    await start('replica-a');
    expect(store.status()).to.include({ ready: true });
    const warning = await pollUntil(async () => logs.find((l) => l.msg === 'could not record a kubernetes event; the reload itself is unaffected'), Boolean, 'the warning');
    expect(warning).to.include({ reason: 'RegistryLoaded', status: 403 });
    expect(api.eventRequests, 'a 403 is not retried').to.equal(1);
    expect(events()).to.have.length(0);
  });

  it('retries a transient failure a bounded number of times', async () => {
    api.put({ 'registry.json': docA });
    api.refuseEvents(503);
    await start('replica-a');
    await pollUntil(async () => logs.find((l) => l.msg === 'could not record a kubernetes event; the reload itself is unaffected'), Boolean, 'the warning');
    expect(api.eventRequests).to.equal(3);
  });
});
