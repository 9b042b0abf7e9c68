import { expect } from 'chai';
import { RegistryStore } from '../../../src/registry/store.js';
import type { ReloadEvent } from '../../../src/registry/store.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';

const first = registryDocument([actorEntry('agt-a')]);
const second = registryDocument([actorEntry('agt-a'), actorEntry('agt-b')]);
const invalid = registryDocument([actorEntry('agt-a', { ttl: { default: '9h', max: '8h' } })]);

function storeWithEvents(): { store: RegistryStore; events: ReloadEvent[] } {
  const store = new RegistryStore({ kind: 'file', name: 'file:/tmp/registry.json' }, { now: () => new Date('2026-06-23T12:00:00Z') });
  const events: ReloadEvent[] = [];
  store.onReload((event) => events.push(event));
  return { store, events };
}

describe('the registry store', () => {
  it('is not ready and names its source before any document', () => {
    const { store } = storeWithEvents();
    expect(store.current()).to.equal(undefined);
    expect(store.status()).to.deep.equal({
      ready: false, source: 'file:/tmp/registry.json', revision: null, source_version: null, loaded_at: null, last_error: null,
    });
  });

  it('loads a valid document and reports success once', () => {
    const { store, events } = storeWithEvents();
    expect(store.apply(text(first), '41')).to.equal('loaded');
    expect(store.status()).to.include({ ready: true, source_version: '41', loaded_at: '2026-06-23T12:00:00.000Z' });
    expect(events.map((e) => e.result)).to.deep.equal(['success']);
  });

  it('does not reload the same bytes, or the same document re-formatted', () => {
    const { store, events } = storeWithEvents();
    store.apply(text(first));
    const loaded = store.current();
    expect(store.apply(text(first))).to.equal('unchanged');
    expect(store.apply(JSON.stringify(first, null, 2))).to.equal('unchanged');
    expect(store.current()).to.equal(loaded);
    expect(events).to.have.length(1);
  });

  it('keeps the last good registry when a bad document arrives, and says why', () => {
    const { store, events } = storeWithEvents();
    store.apply(text(first));
    const good = store.current();
    expect(store.apply(text(invalid))).to.equal('rejected');
    expect(store.apply('{not json')).to.equal('rejected');
    expect(store.current()).to.equal(good);
    const status = store.status();
    expect(status.ready).to.equal(true);
    expect(status.last_error?.message).to.match(/registry is invalid/);
    expect(events.map((e) => e.result)).to.deep.equal(['success', 'failure', 'failure']);
  });

  it('counts the same bad document once, however often it is re-read', () => {
    const { store, events } = storeWithEvents();
    store.apply(text(invalid));
    store.apply(text(invalid));
    expect(events.map((e) => e.result)).to.deep.equal(['failure']);
    expect(store.status().last_error?.details).to.deep.equal([{ path: 'actors[0].ttl.max', message: 'must be >= ttl.default' }]);
  });

  it('swaps in a newer document, names the one it replaced and clears the last error', () => {
    const { store, events } = storeWithEvents();
    store.apply(text(first));
    const firstRevision = store.status().revision;
    store.apply(text(invalid));
    expect(store.apply(text(second))).to.equal('loaded');
    expect(store.current()?.counts.actors).to.equal(2);
    expect(store.status().revision).not.to.equal(firstRevision);
    expect(store.status().last_error).to.equal(null);
    const last = events.at(-1);
    expect(last?.result).to.equal('success');
    expect(last?.result === 'success' ? last.previous?.registry.revision : undefined).to.equal(firstRevision);
  });

  it('records a source failure without dropping the registry, and clears it when the document is back', () => {
    const { store, events } = storeWithEvents();
    store.apply(text(first), '1');
    store.fail('ConfigMap flex-auth/flex-auth-registry was deleted');
    expect(store.status()).to.include({ ready: true });
    expect(store.status().last_error?.message).to.match(/deleted/);
    expect(store.apply(text(first), '7')).to.equal('unchanged');
    expect(store.status().last_error).to.equal(null);
    expect(store.status().source_version).to.equal('7');
    expect(events.map((e) => e.result)).to.deep.equal(['success', 'failure']);
  });
});
