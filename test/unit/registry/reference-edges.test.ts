import { expect } from 'chai';
import { RegistryValidationError } from '../../../src/core/errors.js';
import { isTimestamp } from '../../../src/registry/document.js';
import { loadRegistry } from '../../../src/registry/load.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';
import type { Json } from '../../fixtures/registry.js';
import { thrown } from '../../helpers/thrown.js';

const refusal = (document: Json) => thrown(RegistryValidationError, () => loadRegistry(text(document)));

/** Exactly the errors of documents wrong in one way, and the count past the 20 listed. */
describe('registry validation, reference and format edges', () => {
  it('reports principals that are not strings as such, not as duplicates', () => {
    expect(refusal(registryDocument([actorEntry('agt-a', { principals: [5, 5] })])).details).to.deep.equal([
      { path: 'actors[0].principals[0]', message: 'must be a string' },
      { path: 'actors[0].principals[1]', message: 'must be a string' },
    ]);
  });

  it('takes a signer tuple on a group for no membership: the group it names still has no members', () => {
    const rel = { object: 'group:a', relation: 'signer', subject: 'group:a#member' };
    expect(refusal(registryDocument([actorEntry('agt-a')], [rel])).details).to.deep.equal([
      { path: 'relationships[0].relation', message: 'must be member on group objects' },
      { path: 'relationships[0].subject', message: 'group a has no members (no relationship group:a#member@...)' },
    ]);
  });

  it('holds an actor object to the actor name form, which a group name need not follow', () => {
    const bad = { object: 'actor:Ops.Team', relation: 'signer', subject: 'iam:x' };
    expect(refusal(registryDocument([actorEntry('agt-a')], [bad])).details).to.deep.equal([
      { path: 'relationships[0].object', message: 'must be actor:NAME or group:NAME' },
      { path: 'relationships[0].object', message: 'actor Ops.Team is not registered' },
    ]);
  });

  it('reads no reference from a tuple whose object is not a string, not even a list holding one', () => {
    const rels = [{ object: ['group:a'], relation: 'member', subject: 'iam:x' }, { object: 'actor:agt-a', relation: 'signer', subject: 'group:a#member' }];
    expect(refusal(registryDocument([actorEntry('agt-a')], rels)).details).to.deep.equal([
      { path: 'relationships[0].object', message: 'must be a string' },
      { path: 'relationships[1].subject', message: 'group a has no members (no relationship group:a#member@...)' },
    ]);
    const listed = [{ object: ['actor:agt-nobody'], relation: 'signer', subject: 'iam:x' }];
    expect(refusal(registryDocument([actorEntry('agt-a')], listed)).details).to.deep.equal([{ path: 'relationships[0].object', message: 'must be a string' }]);
  });

  it('counts every cycle past the 20 listed errors', () => {
    const selfNested = Array.from({ length: 25 }, (_, i) => ({ object: `group:g${i}`, relation: 'member', subject: `group:g${i}#member` }));
    const error = refusal(registryDocument([actorEntry('agt-a')], selfNested));
    expect(error.message).to.equal('registry is invalid: 25 errors');
    expect(error.details[20]).to.deep.equal({ path: '(root)', message: '... and 5 more errors' });
  });

  it('counts every unregistered actor past the 20 listed errors', () => {
    const strangers = Array.from({ length: 25 }, (_, i) => ({ object: `actor:agt-x${i}`, relation: 'signer', subject: 'iam:x' }));
    const error = refusal(registryDocument([actorEntry('agt-a')], strangers));
    expect(error.message).to.equal('registry is invalid: 25 errors');
    expect(error.details[20]).to.deep.equal({ path: '(root)', message: '... and 5 more errors' });
  });

  it('knows 29 February only in leap years, century years by the 400 rule', () => {
    expect(isTimestamp('2024-02-29T00:00:00Z')).to.equal(true);
    expect(isTimestamp('2000-02-29T00:00:00Z')).to.equal(true);
    expect(isTimestamp('2023-02-29T00:00:00Z')).to.equal(false);
    expect(isTimestamp('1900-02-29T00:00:00Z')).to.equal(false);
    expect(isTimestamp('2100-02-28T00:00:00Z')).to.equal(true);
  });
});
