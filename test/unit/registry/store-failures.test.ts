import { expect } from 'chai';
import { describeFailure, RegistryStore } from '../../../src/registry/store.js';
import type { ReloadEvent } from '../../../src/registry/store.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';

function storeWithEvents(): { store: RegistryStore; events: ReloadEvent[] } {
  const store = new RegistryStore({ kind: 'file', name: 'file:/tmp/registry.json' }, { now: () => new Date('2026-06-23T12:00:00Z') });
  const events: ReloadEvent[] = [];
  store.onReload((event) => events.push(event));
  return { store, events };
}

/** A registry with `count` invalid actors, one error each. */
function withErrors(count: number): string {
  return text(registryDocument(Array.from({ length: count }, (_, i) => actorEntry(`agt-${i}`, { type: 'robot' }))));
}

describe('the registry store, on bad documents', () => {
  it('answers the same bad bytes again with rejected, without a second failure or a new registry', () => {
    const { store, events } = storeWithEvents();
    store.apply(text(registryDocument()));
    const good = store.current();
    expect(store.apply(withErrors(1))).to.equal('rejected');
    expect(store.apply(withErrors(1))).to.equal('rejected');
    expect(store.current()).to.equal(good);
    expect(events.map((e) => e.result)).to.deep.equal(['success', 'failure']);
  });

  it('answers the same good bytes again with unchanged', () => {
    const { store } = storeWithEvents();
    expect(store.apply(text(registryDocument()))).to.equal('loaded');
    expect(store.apply(text(registryDocument()))).to.equal('unchanged');
  });

  it('shows 20 details in last_error and one counting the rest', () => {
    const { store } = storeWithEvents();
    store.apply(withErrors(25));
    const lastError = store.status().last_error!;
    expect(lastError.message).to.equal('registry is invalid: 25 errors');
    expect(lastError.details).to.have.length(21);
    expect(lastError.details.slice(0, 20).map((d) => d.path)).to.deep.equal(Array.from({ length: 20 }, (_, i) => `actors[${i}].type`));
    expect(lastError.details[20]).to.deep.equal({ path: '(root)', message: '... and 5 more errors' });
  });

  it('summarises a failure for the log: the message, the first five details, and how many more', () => {
    const { store, events } = storeWithEvents();
    store.apply(withErrors(7));
    const event = events[0]!;
    expect(event.result).to.equal('failure');
    const failure = event.result === 'failure' ? event.failure : undefined;
    const type = 'must be one of agent, admin, automation, service, human';
    expect(describeFailure(failure!)).to.equal(
      `registry is invalid: 7 errors: ${[0, 1, 2, 3, 4].map((i) => `actors[${i}].type: ${type}`).join('; ')} (+2 more)`,
    );
  });

  it('summarises a failure without details as its message alone', () => {
    const { store, events } = storeWithEvents();
    store.fail('ConfigMap flex-auth/registry was deleted');
    const event = events[0]!;
    expect(describeFailure(event.result === 'failure' ? event.failure : { message: '', details: [], at: new Date() })).to.equal('ConfigMap flex-auth/registry was deleted');
  });

  it('summarises a failure of exactly five details without a count', () => {
    const { store, events } = storeWithEvents();
    store.apply(withErrors(5));
    const event = events[0]!;
    expect(describeFailure(event.result === 'failure' ? event.failure : { message: '', details: [], at: new Date() })).not.to.match(/more\)$/);
  });
});
