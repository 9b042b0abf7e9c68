import { expect } from 'chai';
import { createLogger } from '../../../src/logger.js';
import { RegistryStore } from '../../../src/registry/store.js';
import { ConfigMapSource } from '../../../src/sources/configmap.js';
import type { ConfigMapSourceOptions } from '../../../src/sources/configmap.js';
import { Freshness } from '../../../src/sources/freshness.js';
import { describeSource } from '../../../src/sources/source.js';
import { FakeKubeApi } from '../../helpers/fake-kube-api.js';
import { pollUntil } from '../../helpers/poll.js';
import { reloadedUntil } from '../../helpers/wait.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';

const location = { namespace: 'flex-auth', name: 'flex-auth-registry', key: 'registry.json' };
const docA = text(registryDocument([actorEntry('agt-a')]));
const docB = text(registryDocument([actorEntry('agt-b')]));
// Not a multiple of 3: a third of it is not whole milliseconds (AbortSignal.timeout refuses fractions).
const BOUND_MS = 61_000;

/**
 * The staleness guard (contract section 13) on the ConfigMap source, against the protocol-level
 * fake: time for the guard is a hand-moved clock, so a minute-long bound passes in no time; only
 * the source's own network round trips take real (short) time.
 */
describe('the staleness guard of the ConfigMap source', () => {
  let api: FakeKubeApi;
  let source: ConfigMapSource | undefined;
  let store: RegistryStore;
  let nowMs: number;
  let freshness: Freshness;

  beforeEach(async () => {
    api = new FakeKubeApi(location.namespace, location.name);
    await api.start();
    store = new RegistryStore(describeSource({ kind: 'configmap', ...location }));
    nowMs = 1_000_000;
    freshness = new Freshness(BOUND_MS, () => nowMs);
  });

  afterEach(async () => {
    api.setSilent(false);
    await source?.stop();
    source = undefined;
    await api.stop();
  });

  async function start(options: Partial<ConfigMapSourceOptions>): Promise<void> {
    const logger = createLogger({ destination: { write: () => undefined } });
    source = new ConfigMapSource(location, store, {
      logger, kubeConfig: api.kubeConfig(), backoff: { initialMs: 20, maxMs: 80 }, firstListTimeoutMs: 2000,
      freshness, events: false, ...options,
    });
    await source.start();
  }

  const reads = () => api.count((r) => r.name !== undefined);
  const confirmedAtNow = () => pollUntil(async () => freshness.status().confirmedAt.getTime(), (t) => t === nowMs, 'a confirmation at the current time');
  const watching = () => pollUntil(async () => api.count((r) => r.watch), (n) => n > 0, 'a watch');

  it('the first list confirms; a quiet watch with no bookmark and no read turns stale just past the bound', async () => {
    api.put({ 'registry.json': docA });
    await start({ confirmEveryMs: 3_600_000 });
    await watching();
    expect(freshness.stale()).to.equal(false);
    nowMs += BOUND_MS;
    expect(freshness.stale(), 'at the bound').to.equal(false);
    nowMs += 1;
    expect(freshness.stale(), 'past the bound').to.equal(true);
  });

  it('bookmarks keep a quiet watch fresh, without reading the object', async () => {
    api.put({ 'registry.json': docA });
    await start({ confirmEveryMs: 3_600_000 });
    await watching();
    expect(api.requests.find((r) => r.watch)!.query.get('allowWatchBookmarks')).to.equal('true');
    for (let i = 0; i < 5; i += 1) {
      nowMs += BOUND_MS - 1;
      api.sendBookmark();
      await confirmedAtNow();
    }
    nowMs += BOUND_MS - 1;
    expect(freshness.stale(), `${5 * BOUND_MS} ms after the list, kept fresh by bookmarks`).to.equal(false);
    expect(reads()).to.equal(0);
  });

  it('a quiet watch with no bookmarks is confirmed by reading the object, every third of the bound', async () => {
    api.put({ 'registry.json': docA });
    await start({ confirmEveryMs: 10 });
    await watching();
    for (let step = 0; step < 12; step += 1) {
      nowMs += Math.ceil(BOUND_MS / 3);
      await confirmedAtNow();
      expect(freshness.stale()).to.equal(false);
    }
    expect(reads()).to.be.at.least(12);
    expect(api.count((r) => !r.watch && r.name === undefined), 'confirmed by the reads, not by listing again').to.equal(1);
  });

  it('a silent half-open connection turns stale at the bound, and recovers when the API answers again', async () => {
    api.put({ 'registry.json': docA });
    await start({ confirmEveryMs: 10 });
    await watching();
    const transitions: boolean[] = [];
    freshness.onChange((stale) => transitions.push(stale));
    api.setSilent(true);
    const readsBefore = reads();
    // A change the silent watch never hears of.
    const version = api.put({ 'registry.json': docB });
    nowMs += Math.floor(BOUND_MS / 2);
    expect(freshness.stale()).to.equal(false);
    nowMs += BOUND_MS - Math.floor(BOUND_MS / 2) + 1;
    expect(freshness.stale()).to.equal(true);
    // The source looks on its own, so the service logs the change without waiting for a check.
    await pollUntil(async () => transitions, (t) => t.at(-1) === true, 'the change to stale noticed');
    expect(reads(), 'no read answered while silent').to.equal(readsBefore);

    api.setSilent(false);
    // The read shows a version the watch never delivered: the source lists again and loads it.
    await reloadedUntil(store, () => store.current()?.actor('agt-b') !== undefined);
    expect(store.status().source_version).to.equal(version);
    await confirmedAtNow();
    expect(freshness.stale()).to.equal(false);
    await pollUntil(async () => transitions, (t) => t.at(-1) === false, 'the change back noticed');
  });
});
