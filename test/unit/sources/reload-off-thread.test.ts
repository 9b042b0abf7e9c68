import { expect } from 'chai';
import { RegistryValidationError } from '../../../src/core/errors.js';
import { loadRegistry } from '../../../src/registry/load.js';
import { RegistryStore } from '../../../src/registry/store.js';
import type { ReloadEvent } from '../../../src/registry/store.js';
import { describeSource } from '../../../src/sources/source.js';
import { actorEntry, member, registryDocument, signer, text } from '../../fixtures/registry.js';

/** The store path sources use (`applyAsync`), with every document sent to the worker thread. */
function offThreadStore(): { store: RegistryStore; events: ReloadEvent[] } {
  const store = new RegistryStore(describeSource({ kind: 'file', path: '/registry.json' }), { offThreadBytes: 0 });
  const events: ReloadEvent[] = [];
  store.onReload((event) => events.push(event));
  return { store, events };
}

function manyActors(count: number, prefix: string): string {
  const actors = Array.from({ length: count }, (_, i) => actorEntry(`agt-${prefix}${i}`));
  return text(registryDocument(actors, [member('ops', 'iam:alice'), signer(`agt-${prefix}0`, 'group:ops#member')]));
}

describe('reloading off the event loop (applyAsync)', () => {
  it('loads the same registry as the synchronous path: revision, counts and decisions', async () => {
    const document = manyActors(5000, 'a');
    const { store } = offThreadStore();
    expect(await store.applyAsync(document)).to.equal('loaded');
    const expected = loadRegistry(document);
    const loaded = store.current()!;
    expect(loaded.revision).to.equal(expected.revision);
    expect(loaded.counts).to.deep.equal(expected.counts);
    expect(loaded.actor('agt-a4999')).to.deep.equal(expected.actor('agt-a4999'));
    expect(loaded.isSigner('agt-a0', 'iam:alice')).to.equal(true);
    expect(loaded.signerPath('agt-a0', 'iam:alice')).to.deep.equal(expected.signerPath('agt-a0', 'iam:alice'));
  });

  it('keeps answering while a large document is parsed and validated', async () => {
    const { store } = offThreadStore();
    let turns = 0;
    let loading = true;
    const spin = () => { if (loading) { turns += 1; setImmediate(spin); } };
    setImmediate(spin);
    await store.applyAsync(manyActors(20_000, 'a'));
    loading = false;
    // Loaded in one synchronous call, the event loop would not have turned at all.
    expect(turns).to.be.greaterThan(10);
  });

  it('refuses an invalid document with every error, as the synchronous path does, and keeps the good one', async () => {
    const { store, events } = offThreadStore();
    await store.applyAsync(manyActors(10, 'a'));
    const good = store.status().revision;
    const bad = text(registryDocument([actorEntry('agt-x', { ttl: { default: '9h', max: '1h' } }), actorEntry('agt-x')]));
    expect(await store.applyAsync(bad)).to.equal('rejected');
    let expected: RegistryValidationError | undefined;
    try { loadRegistry(bad); } catch (error) { expected = error as RegistryValidationError; }
    expect(store.status().last_error).to.deep.include({ message: expected!.message, details: expected!.details });
    expect(store.status()).to.include({ ready: true, revision: good });
    expect(events.map((e) => e.result)).to.deep.equal(['success', 'failure']);
    expect(await store.applyAsync('{"not json')).to.equal('rejected');
    expect(store.status().last_error?.details[0]?.message).to.match(/^not valid JSON/);
  });

  it('takes the document as UTF-8 bytes too, off the event loop and at once, and refuses bytes that are not UTF-8', async () => {
    const document = manyActors(10, 'a');
    const small = new RegistryStore(describeSource({ kind: 'file', path: '/registry.json' }));
    for (const store of [offThreadStore().store, small]) {
      expect(await store.applyAsync(new Uint8Array([0x7b, 0xff, 0x7d]))).to.equal('rejected');
      expect(store.status().last_error?.details).to.deep.equal([{ path: '(root)', message: 'not valid UTF-8' }]);
      expect(await store.applyAsync(Buffer.from(document))).to.equal('loaded');
      expect(store.status().revision).to.equal(loadRegistry(document).revision);
      expect(await store.applyAsync(document)).to.equal('unchanged');
    }
  });

  it('runs one reload at a time, in the order documents arrive, and skips an unchanged one', async () => {
    const { store, events } = offThreadStore();
    const [a, b, c] = [manyActors(3000, 'a'), manyActors(10, 'b'), manyActors(3000, 'c')];
    const outcomes = await Promise.all([store.applyAsync(a), store.applyAsync(b), store.applyAsync(c), store.applyAsync(c)]);
    expect(outcomes).to.deep.equal(['loaded', 'loaded', 'loaded', 'unchanged']);
    const revisions = events.map((e) => (e.result === 'success' ? e.active.registry.revision : 'failure'));
    expect(revisions).to.deep.equal([a, b, c].map((d) => loadRegistry(d).revision));
  });

  it('refuses a document whose revision is not the one its publisher announced', async () => {
    const { store } = offThreadStore();
    const document = manyActors(10, 'a');
    const announced = loadRegistry(manyActors(10, 'b')).revision;
    expect(await store.applyAsync(document, { revision: announced })).to.equal('rejected');
    expect(store.status().ready).to.equal(false);
    expect(store.status().last_error?.message).to.equal(`the document's revision ${loadRegistry(document).revision} is not the announced ${announced}`);
    expect(await store.applyAsync(document, { revision: loadRegistry(document).revision, sourceVersion: '7' })).to.equal('loaded');
    expect(store.status().source_version).to.equal('7');
  });
});
