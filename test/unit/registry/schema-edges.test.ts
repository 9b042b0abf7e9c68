import { expect } from 'chai';
import { validateRegistry } from '../../../src/registry/load.js';
import { actorEntry, member, registryDocument, signer } from '../../fixtures/registry.js';
import type { Json } from '../../fixtures/registry.js';

function errors(document: unknown): string[] {
  return validateRegistry(document).map((detail) => `${detail.path}: ${detail.message}`);
}

function withTtl(ttl: Json): Json {
  return registryDocument([actorEntry('agt-a', { ttl })]);
}

describe('registry validation, at its edges', () => {
  it('accepts ttl bounds equal to the default, and refuses each bound one second past it', () => {
    expect(errors(withTtl({ default: 60, min: 60, max: 60 }))).to.deep.equal([]);
    expect(errors(withTtl({ default: '1m', min: '1m', max: '1m' }))).to.deep.equal([]);
    expect(errors(withTtl({ default: 1, max: 1 })), 'the default min of 1s').to.deep.equal([]);
    expect(errors(withTtl({ default: 60, min: 61, max: 120 }))).to.deep.equal(['actors[0].ttl.min: must be <= ttl.default']);
    expect(errors(withTtl({ default: 60, min: 1, max: 59 }))).to.deep.equal(['actors[0].ttl.max: must be >= ttl.default']);
    expect(errors(withTtl({ default: 60, min: 61, max: 59 }))).to.deep.equal(['actors[0].ttl.min: must be <= ttl.default', 'actors[0].ttl.max: must be >= ttl.default']);
  });

  it('lists every error of a document wrong in every part, each once, with its path', () => {
    const document = {
      schema: 'flex-auth.registry/v2',
      metadata: { name: '', generated_at: 'yesterday', owner: 'x' },
      actors: [
        actorEntry('Agt-A', { type: 'robot', actions: [], principals: ['a b'], ttl: { default: 0, max: '1d' }, allowed_subjects: ['#x'], disabled: 'no' }),
        actorEntry('agt-b', { extra: true }),
        actorEntry('agt-b'),
      ],
      relationships: [
        { object: 'actor:agt-ghost', relation: 'signer', subject: 'iam:x' },
        { object: 'group:g', relation: 'signer', subject: 'iam:x' },
        member('g', 'group:nobody#member'),
        { object: 'team:x', relation: 'member', subject: 'iam:x', why: 1 },
      ],
      extra: 1,
    };
    const found = errors(document).map((line) => line.slice(0, line.indexOf(': ')));
    expect([...found].sort()).to.deep.equal([
      'actors[0].actions', 'actors[0].allowed_subjects[0]', 'actors[0].disabled', 'actors[0].name', 'actors[0].principals[0]',
      'actors[0].ttl.default', 'actors[0].ttl.max', 'actors[0].type', 'actors[1].extra', 'actors[2].name', 'extra',
      'metadata.generated_at', 'metadata.name', 'metadata.owner', 'relationships[0].object', 'relationships[1].relation',
      'relationships[2].subject', 'relationships[3].object', 'relationships[3].why', 'schema',
    ]);
  });

  it('reports a cycle reached through a group outside it once, naming only the groups in it', () => {
    const document = registryDocument(
      [actorEntry('agt-a', { allowed_subjects: ['group:outside#member'] })],
      [member('outside', 'group:a#member'), member('a', 'group:b#member'), member('b', 'group:c#member'), member('c', 'group:a#member'), member('b', 'iam:x')],
    );
    expect(errors(document)).to.deep.equal(['relationships[3]: group membership cycle: group:a -> group:b -> group:c -> group:a']);
  });

  it('reports two separate cycles each once, and a shared subgroup outside them not at all', () => {
    const document = registryDocument(
      [actorEntry('agt-a', { allowed_subjects: [] })],
      [member('a', 'group:b#member'), member('b', 'group:a#member'), member('c', 'group:d#member'), member('d', 'group:c#member'),
        member('a', 'group:leaf#member'), member('c', 'group:leaf#member'), member('leaf', 'iam:x'), signer('agt-a', 'group:leaf#member')],
    );
    expect(errors(document)).to.deep.equal([
      'relationships[1]: group membership cycle: group:a -> group:b -> group:a',
      'relationships[3]: group membership cycle: group:c -> group:d -> group:c',
    ]);
  });
});
