import { expect } from 'chai';
import { FlexAuthError, InvalidRequestError, RegistryValidationError } from '../../../src/core/errors.js';
import { loadRegistry } from '../../../src/registry/load.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';
import { thrown } from '../../helpers/thrown.js';

const refusal = (document: string) => thrown(RegistryValidationError, () => loadRegistry(document));

/** Two errors each: a type the schema does not know, and a key it does not know. */
const twiceWrong = (count: number) => Array.from({ length: count }, (_, i) => actorEntry(`agt-${i}`, { type: 'robot', colour: 'red' }));

describe('registry validation, counting problems past the listed ones', () => {
  it('lists every error of the items it validates until the list is full, then counts each further bad item once', () => {
    const error = refusal(text(registryDocument(twiceWrong(25))));
    // Ten actors fill the list with their two errors each; the other fifteen count one each.
    expect(error.total).to.equal(20 + 15);
    expect(error.message).to.equal('registry is invalid: 35 errors');
    expect(error.details).to.have.length(21);
    expect(error.details.slice(0, 20).map((d) => d.path)).to.deep.equal(
      Array.from({ length: 10 }, (_, i) => [`actors[${i}].type`, `actors[${i}].colour`]).flat(),
    );
    expect(error.details[20]).to.deep.equal({ path: '(root)', message: '... and 15 more errors' });
  });

  it('lists all the errors of the item that fills the list, and counts them all', () => {
    const actors = [actorEntry('agt-first', { type: 'robot' }), ...twiceWrong(10)];
    const error = refusal(text(registryDocument(actors)));
    // 1 + 9 * 2 = 19 listed before the tenth twice-wrong actor adds its two.
    expect(error.total).to.equal(21);
    expect(error.details.map((d) => d.path).slice(18)).to.deep.equal(['actors[9].colour', 'actors[10].type', '(root)']);
  });
});

describe('errors made without details', () => {
  it('have none', () => {
    expect(new FlexAuthError('unavailable', 503, 'registry not loaded').details).to.deep.equal([]);
    expect(new InvalidRequestError('bad body').details).to.deep.equal([]);
  });
});
