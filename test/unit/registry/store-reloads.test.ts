import { expect } from 'chai';
import { loadRegistry } from '../../../src/registry/load.js';
import { describeFailure, RegistryStore } from '../../../src/registry/store.js';
import type { ReloadEvent, StoreOptions } from '../../../src/registry/store.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';

function storeWithEvents(options: StoreOptions = {}): { store: RegistryStore; events: ReloadEvent[] } {
  const store = new RegistryStore({ kind: 'file', name: 'file:/tmp/registry.json' }, { now: () => new Date('2026-06-23T12:00:00Z'), ...options });
  const events: ReloadEvent[] = [];
  store.onReload((event) => events.push(event));
  return { store, events };
}

const documentOf = (...names: string[]) => text(registryDocument(names.map((name) => actorEntry(name))));
const bad = text(registryDocument([actorEntry('agt-x', { type: 'robot' })]));
const revisionOf = (document: string) => loadRegistry(document).revision;

/** The store's queue, its memory of documents, source versions and what a failure carries. */
describe('the registry store, reload by reload', () => {
  it('loads a document shorter than offThreadBytes at once, and one of exactly that size in the worker', async () => {
    const document = documentOf('agt-a');
    const small = storeWithEvents({ offThreadBytes: document.length + 1 }).store;
    const pending = small.applyAsync(document);
    expect(small.current()?.revision, 'loaded before the promise settles').to.equal(revisionOf(document));
    expect(await pending).to.equal('loaded');

    const large = storeWithEvents({ offThreadBytes: document.length }).store;
    const inWorker = large.applyAsync(document);
    expect(large.current()).to.equal(undefined);
    expect(await inWorker).to.equal('loaded');
    expect(large.current()?.revision).to.equal(revisionOf(document));
  });

  it('is idle again once its queue is done: the next small document loads at once', async () => {
    const large = documentOf('agt-a', 'agt-b');
    const small = documentOf('agt-c');
    const { store } = storeWithEvents({ offThreadBytes: large.length });
    expect(await store.applyAsync(large)).to.equal('loaded');
    void store.applyAsync(small);
    expect(store.current()?.revision).to.equal(revisionOf(small));
  });

  it('keeps a small document behind one still queued, even when an earlier one is done', async () => {
    const [first, second] = [documentOf('agt-a', 'agt-b'), documentOf('agt-b', 'agt-a', 'agt-c')];
    const last = documentOf('agt-d');
    const { store, events } = storeWithEvents({ offThreadBytes: first.length });
    const pending = [store.applyAsync(first), store.applyAsync(second)];
    await pending[0];
    pending.push(store.applyAsync(last));
    expect(await Promise.all(pending)).to.deep.equal(['loaded', 'loaded', 'loaded']);
    expect(store.current()?.revision).to.equal(revisionOf(last));
    expect(events.map((e) => (e.result === 'success' ? e.active.registry.revision : e.result))).to.deep.equal([first, second, last].map(revisionOf));
  });

  it('answers the same bad bytes again off the thread with rejected, without a second failure', async () => {
    const { store, events } = storeWithEvents({ offThreadBytes: 0 });
    expect(await store.applyAsync(bad)).to.equal('rejected');
    expect(await store.applyAsync(Buffer.from(bad))).to.equal('rejected');
    expect(events.map((e) => e.result)).to.deep.equal(['failure']);
  });

  it('hands the bytes of a whole buffer over, and copies a view of part of a larger one, leaving that intact', async () => {
    const document = documentOf('agt-a');
    const whole = new TextEncoder().encode(document);
    const { store } = storeWithEvents({ offThreadBytes: 0 });
    expect(await store.applyAsync(whole)).to.equal('loaded');
    expect(whole.buffer.byteLength, 'detached').to.equal(0);

    const encoded = new TextEncoder().encode(documentOf('agt-b'));
    const backing = new Uint8Array(encoded.length + 10);
    backing.set(encoded, 5);
    expect(await store.applyAsync(backing.subarray(5, 5 + encoded.length))).to.equal('loaded');
    expect(store.current()?.revision).to.equal(revisionOf(documentOf('agt-b')));
    expect(backing.buffer.byteLength).to.equal(encoded.length + 10);
    expect(new TextDecoder().decode(backing.subarray(5, 5 + encoded.length))).to.equal(documentOf('agt-b'));
  });

  it('refuses a document when the worker cannot even start, keeps the good registry, and reads the same bytes afresh next time', async () => {
    const { store, events } = storeWithEvents({ offThreadBytes: 0 });
    await store.applyAsync(documentOf('agt-a'));
    const good = store.snapshot();
    // Bytes in shared memory cannot be handed over to a worker: it fails before it starts.
    const shared = new Uint8Array(new SharedArrayBuffer(8));
    expect(await store.applyAsync(shared)).to.equal('rejected');
    expect(store.status().last_error).to.deep.include({ details: [] });
    expect(store.status().last_error?.message).to.match(/^registry could not be validated: \w*Error: ./);
    expect(store.snapshot()).to.equal(good);
    expect(await store.applyAsync(shared)).to.equal('rejected');
    expect(events.map((e) => e.result)).to.deep.equal(['success', 'failure', 'failure']);
  });

  it('carries the active registry in a failure event', () => {
    const { store, events } = storeWithEvents();
    store.apply(documentOf('agt-a'));
    store.apply(bad);
    expect(events[1]).to.deep.include({ result: 'failure', active: store.snapshot() });
  });

  it('gives no details for a revision other than the announced one', async () => {
    const { store } = storeWithEvents();
    expect(await store.applyAsync(documentOf('agt-a'), { revision: revisionOf(documentOf('agt-b')) })).to.equal('rejected');
    expect(store.status().last_error?.details).to.deep.equal([]);
  });

  it('refuses the bytes it serves when they are announced as another revision, and keeps serving them', async () => {
    const { store } = storeWithEvents();
    const document = documentOf('agt-a');
    expect(await store.applyAsync(document, { revision: revisionOf(document), sourceVersion: 'v1' })).to.equal('loaded');
    const other = revisionOf(documentOf('agt-b'));
    expect(await store.applyAsync(document, { revision: other, sourceVersion: 'v2' })).to.equal('rejected');
    expect(store.status()).to.include({ revision: revisionOf(document), source_version: 'v1' });
    expect(store.status().last_error?.message).to.equal(`the document's revision ${revisionOf(document)} is not the announced ${other}`);
    // Announced rightly again, the same bytes are the registry served, and the error is over.
    expect(await store.applyAsync(document, { revision: revisionOf(document), sourceVersion: 'v3' })).to.equal('unchanged');
    expect(store.status()).to.include({ source_version: 'v3', last_error: null });
  });

  it('ends a source failure when the source delivers the served version again, and only then', () => {
    const { store } = storeWithEvents();
    store.apply(documentOf('agt-a'), 'v1');
    store.fail('cannot list or watch ConfigMap flex-auth/flex-auth-registry: 500');
    store.sourceRecovered('v0');
    expect(store.status().last_error?.message).to.match(/cannot list or watch/);
    store.sourceRecovered('v1');
    expect(store.status().last_error).to.equal(null);
  });

  it('moves the source version on an unchanged document, keeps it when none is given, and is never made ready by one', () => {
    const { store } = storeWithEvents();
    expect(store.apply(bad, 'v1')).to.equal('rejected');
    expect(store.apply(bad, 'v2')).to.equal('rejected');
    expect(store.status()).to.include({ ready: false, source_version: null });

    store.apply(documentOf('agt-a'), 'v3');
    expect(store.apply(documentOf('agt-a'))).to.equal('unchanged');
    expect(store.status().source_version).to.equal('v3');
    expect(store.apply(documentOf('agt-a'), 'v4')).to.equal('unchanged');
    expect(store.status().source_version).to.equal('v4');
  });

  it('shows no source version in the snapshot of a document loaded without one', () => {
    const { store } = storeWithEvents();
    store.apply(documentOf('agt-a'));
    expect(store.snapshot()).to.have.all.keys('registry', 'loadedAt');
  });

  it('summarises a failure of exactly five details as the message and the five', () => {
    const failure = { message: 'registry is invalid: 5 errors', details: [1, 2, 3, 4, 5].map((i) => ({ path: `p${i}`, message: 'm' })), at: new Date(0) };
    expect(describeFailure(failure)).to.equal('registry is invalid: 5 errors: p1: m; p2: m; p3: m; p4: m; p5: m');
  });
});
