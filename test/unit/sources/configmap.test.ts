import { expect } from 'chai';
import { createLogger } from '../../../src/logger.js';
import { RegistryStore } from '../../../src/registry/store.js';
import { loadRegistry } from '../../../src/registry/load.js';
import { ConfigMapSource } from '../../../src/sources/configmap.js';
import { packRegistry } from '../../../src/sources/packed-registry.js';
import { describeSource } from '../../../src/sources/source.js';
import type { ConfigMapSourceOptions } from '../../../src/sources/configmap.js';
import { Freshness } from '../../../src/sources/freshness.js';
import { FakeKubeApi } from '../../helpers/fake-kube-api.js';
import { pollUntil } from '../../helpers/poll.js';
import { nextReload, reloadedUntil } from '../../helpers/wait.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';

const location = { namespace: 'flex-auth', name: 'flex-auth-registry', key: 'registry.json' };
const docA = text(registryDocument([actorEntry('agt-a')]));
const docB = text(registryDocument([actorEntry('agt-b')]));
const docC = text(registryDocument([actorEntry('agt-c')]));

describe('the ConfigMap source (against a protocol-level fake API server)', () => {
  let api: FakeKubeApi;
  let source: ConfigMapSource | undefined;
  let store: RegistryStore;
  let logs: Record<string, unknown>[];

  beforeEach(async () => {
    api = new FakeKubeApi(location.namespace, location.name);
    await api.start();
    store = new RegistryStore(describeSource({ kind: 'configmap', ...location }));
    logs = [];
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await api.stop();
  });

  async function start(options: Partial<ConfigMapSourceOptions> = {}): Promise<void> {
    const logger = createLogger({ destination: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) } });
    source = new ConfigMapSource(location, store, {
      logger,
      kubeConfig: api.kubeConfig(),
      backoff: { initialMs: 20, maxMs: 80 },
      firstListTimeoutMs: 2000,
      ...options,
    });
    await source.start();
  }

  const agent = (name: string) => store.current()?.actor(name) !== undefined;

  it('lists then watches the one ConfigMap by name, with a server-side watch timeout', async () => {
    const version = api.put({ 'registry.json': docA });
    await start({ watchTimeoutSeconds: 120 });
    expect(agent('agt-a')).to.equal(true);
    expect(store.status()).to.include({ ready: true, source: 'configmap:flex-auth/flex-auth-registry', source_version: version });
    const [list, watch] = api.requests;
    expect(list!.watch).to.equal(false);
    expect(list!.query.get('fieldSelector')).to.equal('metadata.name=flex-auth-registry');
    expect(watch!.watch).to.equal(true);
    expect(watch!.query.get('fieldSelector')).to.equal('metadata.name=flex-auth-registry');
    expect(watch!.query.get('timeoutSeconds')).to.equal('120');
    expect(watch!.query.get('resourceVersion')).to.equal(version);
  });

  it('reloads when the ConfigMap is modified', async () => {
    api.put({ 'registry.json': docA });
    await start();
    const reloaded = nextReload(store);
    const version = api.put({ 'registry.json': docB });
    expect((await reloaded).result).to.equal('success');
    expect(agent('agt-b')).to.equal(true);
    expect(store.status().source_version).to.equal(version);
  });

  it('keeps the last good registry on an invalid document, a missing key and a deletion', async () => {
    api.put({ 'registry.json': docA });
    await start();
    const good = store.status().revision;

    let failed = nextReload(store);
    api.put({ 'registry.json': '{"schema":"flex-auth.registry/v1","actors":[]}' });
    expect((await failed).result).to.equal('failure');
    expect(store.status().last_error?.message).to.match(/registry is invalid/);

    failed = nextReload(store);
    api.put({ 'other.json': docB });
    expect((await failed).result).to.equal('failure');
    expect(store.status().last_error?.message).to.equal('ConfigMap flex-auth/flex-auth-registry has no key registry.json');

    failed = nextReload(store);
    api.delete();
    expect((await failed).result).to.equal('failure');
    expect(store.status().last_error?.message).to.match(/was deleted; keeping the last good registry/);
    expect(store.status()).to.include({ ready: true, revision: good });

    const reloaded = nextReload(store);
    api.put({ 'registry.json': docB });
    expect((await reloaded).result).to.equal('success');
    expect(store.status().last_error).to.equal(null);
  });

  it('is not ready while the ConfigMap does not exist, and loads it once created', async () => {
    await start();
    expect(store.status().ready).to.equal(false);
    expect(store.status().last_error?.message).to.equal('ConfigMap flex-auth/flex-auth-registry not found');
    const reloaded = nextReload(store);
    api.put({ 'registry.json': docA });
    await reloaded;
    expect(agent('agt-a')).to.equal(true);
  });

  it('reconnects after a stream cut mid-event and catches up on what it missed', async () => {
    api.put({ 'registry.json': docA });
    await start();
    const relisted = api.nextRequest((r) => !r.watch);
    api.cutWatchesMidEvent();
    api.putQuietly({ 'registry.json': docB });
    await relisted;
    await reloadedUntil(store, () => agent('agt-b'));
    expect(store.status().last_error).to.equal(null);
  });

  it('relists on 410 Gone', async () => {
    api.put({ 'registry.json': docA });
    await start();
    const lists = api.count((r) => !r.watch);
    const relisted = api.nextRequest((r) => !r.watch);
    api.putQuietly({ 'registry.json': docB });
    api.expireWatches();
    await relisted;
    await reloadedUntil(store, () => agent('agt-b'));
    expect(api.count((r) => !r.watch)).to.equal(lists + 1);
  });

  const retryDelays = () => logs.filter((l) => l.msg === 'kubernetes API error; will reconnect').map((l) => l.retry_in_ms);

  it('retries failed lists with a doubling, capped backoff and recovers', async () => {
    api.put({ 'registry.json': docA });
    api.failNextLists(4, 500);
    await start({ firstListTimeoutMs: 1, random: () => 0 });
    await reloadedUntil(store, () => agent('agt-a'));
    expect(retryDelays()).to.deep.equal([20, 40, 80, 80]);
    expect(api.count((r) => !r.watch)).to.equal(5);
  });

  it('shortens each retry delay by a random fraction of up to half, so replicas spread out', async () => {
    api.put({ 'registry.json': docA });
    api.failNextLists(4, 500);
    const draws = [0.5, 0.25, 0.999, 0];
    await start({ firstListTimeoutMs: 1, random: () => draws.shift()! });
    await reloadedUntil(store, () => agent('agt-a'));
    // Bases 20, 40, 80, 80 (doubling, capped), each times (1 - draw / 2).
    expect(retryDelays()).to.deep.equal([15, 35, 40, 80]);
  });

  it('ignores a malformed event and applies the next valid one', async () => {
    api.put({ 'registry.json': docA });
    await start();
    api.sendMalformedEvent();
    api.put({ 'registry.json': docC });
    await reloadedUntil(store, () => agent('agt-c'));
  });

  it('starts unready when the first list is slow, then becomes ready without a restart', async () => {
    api.put({ 'registry.json': docA });
    api.delayNextList(300);
    await start({ firstListTimeoutMs: 20 });
    expect(store.status().ready).to.equal(false);
    await reloadedUntil(store, () => store.status().ready);
  });

  it('gives up a watch request that is never answered, says so, and catches up with a list', async () => {
    api.put({ 'registry.json': docA });
    await start({ watchTimeoutSeconds: 1, watchGraceMs: 200 });
    // The watch the server ends after 1 s is re-opened, and that request is lost.
    api.swallowNext('watch');
    const lost = api.nextRequest((r) => r.watch, 5000);
    await lost;
    api.put({ 'registry.json': docB });
    await reloadedUntil(store, () => agent('agt-b'));
    const error = logs.find((l) => l.msg === 'kubernetes API error; will reconnect')?.error;
    expect(error).to.match(/the watch request got no answer within 1200 ms/);
  });

  it('gives up a list request that is never answered and lists again', async () => {
    api.put({ 'registry.json': docA });
    await start({ listTimeoutMs: 300 });
    api.swallowNext('list');
    const lost = api.nextRequest((r) => !r.watch);
    api.cutWatchesMidEvent();
    api.putQuietly({ 'registry.json': docB });
    await lost;
    await reloadedUntil(store, () => agent('agt-b'));
    expect(api.count((r) => !r.watch)).to.be.at.least(3);
  });

  it('keeps doubling the reconnect delay while lists succeed but every watch is refused', async () => {
    api.put({ 'registry.json': docA });
    api.refuseWatches(403);
    await start({ random: () => 0 });
    await reloadedUntil(store, () => agent('agt-a'));
    while (retryDelays().length < 5) await api.nextRequest((r) => r.watch, 5000);
    expect(retryDelays().slice(0, 5)).to.deep.equal([20, 40, 80, 80, 80]);
    // Back to normal, an event on the watch starts the backoff over.
    api.refuseWatches(undefined);
    await api.nextRequest((r) => r.watch, 5000);
    api.put({ 'registry.json': docB });
    await reloadedUntil(store, () => agent('agt-b'));
    api.refuseWatches(403);
    api.cutWatchesMidEvent();
    const before = retryDelays().length;
    while (retryDelays().length === before) await api.nextRequest(() => true, 5000);
    expect(retryDelays()[before]).to.equal(20);
  });

  it('leaves a failing list to its backoff: the staleness guard\'s read does not list again in between', async () => {
    api.put({ 'registry.json': docA });
    // Lists throttled (429), reads by name answered: the read shows a version no list delivered.
    api.failNextLists(4, 429);
    await start({ firstListTimeoutMs: 1, backoff: { initialMs: 150, maxMs: 300 }, freshness: new Freshness(150), confirmEveryMs: 10 });
    await reloadedUntil(store, () => agent('agt-a'));
    expect(retryDelays()).to.have.length(4);
    // Lists only: the guard's reads by name are requests too.
    expect(api.count((r) => !r.watch && r.name === undefined)).to.equal(5);
    expect(logs.filter((l) => l.msg === 'the watch is behind the ConfigMap; listing again')).to.deep.equal([]);
  });

  it('ends the failure a broken relist reported when it sees the packed registry it serves again', async () => {
    // One gzip object (the v1 text would end the failure by being applied again, as the same bytes).
    const many = text(registryDocument(Array.from({ length: 60 }, (_, i) => actorEntry(`agt-a${i}`))));
    const packed = packRegistry(many, loadRegistry(many).revision, location, { annotationBytes: 4000, maxParts: 4 });
    expect(packed.form).to.equal('gzip');
    const [main] = packed.objects;
    api.put({}, { annotations: { ...main!.metadata.annotations }, binaryData: { ...main!.binaryData } });
    await start();
    await reloadedUntil(store, () => agent('agt-a0'));
    const failed = nextReload(store);
    api.failNextLists(1, 500);
    api.expireWatches();
    expect((await failed).result).to.equal('failure');
    expect(store.status().last_error?.message).to.match(/^cannot list or watch/);
    // The next list delivers the same object, which is all that says the failure is over.
    await pollUntil(async () => store.status().last_error, (error) => error === null, 'the reported failure to end');
    expect(logs.filter((l) => l.msg === 'kubernetes API error; will reconnect')).to.have.length(1);
    expect(store.status()).to.include({ ready: true, revision: loadRegistry(many).revision });
  });

  it('abandons a silent, half-open watch and opens a new one', async () => {
    api.put({ 'registry.json': docA });
    api.setHalfOpen(true);
    await start({ watchTimeoutSeconds: 1, watchGraceMs: 50 });
    const rewatched = api.nextRequest((r) => r.watch, 5000);
    await rewatched;
    api.setHalfOpen(false);
    api.put({ 'registry.json': docB });
    await reloadedUntil(store, () => agent('agt-b'));
  });
});
