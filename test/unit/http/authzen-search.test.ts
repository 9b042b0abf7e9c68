/**
 * AuthZEN search against the reference policy (test/helpers/policy-oracle.ts, a plain graph
 * walk written from the contract): over random registries with nested groups, every search,
 * read to the end page by page, finds exactly the entities the oracle allows, each once.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { parseSearch, search } from '../../../src/http/authzen/search.js';
import type { SearchKind } from '../../../src/http/authzen/search.js';
import { loadRegistry } from '../../../src/registry/load.js';
import type { CompiledRegistry } from '../../../src/registry/compiled-registry.js';
import { expectedAllow } from '../../helpers/policy-oracle.js';

type Json = Record<string, any>;

const GROUPS = ['g0', 'g1', 'g2', 'g3'];
/** Each group has one member of its own, so every group a registry names is defined. */
const OWN_MEMBERS = GROUPS.map((group) => `iam:member-of-${group}`);
const SUBJECTS = ['iam:alice', 'iam:bob', 'iam:carol', 'agt-0', 'agt-1', ...OWN_MEMBERS];
const ACTIONS = ['sign', 'revoke'];

/** Groups nest only into later ones, so the graph is acyclic as a registry must be. */
const registryArbitrary: fc.Arbitrary<Json> = fc.record({
  actors: fc.array(fc.record({
    allowed: fc.subarray([...SUBJECTS, ...GROUPS.map((g) => `group:${g}#member`)]),
    actions: fc.subarray(ACTIONS, { minLength: 1 }),
    disabled: fc.boolean(),
  }), { minLength: 1, maxLength: 5 }),
  members: fc.array(fc.tuple(fc.integer({ min: 0, max: GROUPS.length - 1 }), fc.oneof(fc.constantFrom(...SUBJECTS.slice(0, 5)), fc.integer({ min: 0, max: GROUPS.length - 1 }))), { maxLength: 12 }),
}).map(({ actors, members }) => ({
  schema: 'flex-auth.registry/v1',
  actors: actors.map((actor, index) => ({
    name: `agt-${index}`, type: 'agent', actions: actor.actions, principals: [`agt-${index}`],
    ttl: { default: '1h', max: '8h' }, allowed_subjects: actor.allowed, disabled: actor.disabled,
  })),
  relationships: [...GROUPS.map((group, index) => ({ object: `group:${group}`, relation: 'member', subject: OWN_MEMBERS[index] })), ...new Map(members.flatMap(([group, member]) => {
    if (typeof member === 'number' && member <= group) return [];
    const subject = typeof member === 'number' ? `group:${GROUPS[member]}#member` : member;
    return [[`${group} ${subject}`, { object: `group:${GROUPS[group]}`, relation: 'member', subject }] as const];
  })).values()],
}));

/** Every result of a search, page by page (`limit` per page); fails on a page past the last. */
function readAll(kind: SearchKind, registry: CompiledRegistry, body: Json, limit: number): Json[] {
  const results: Json[] = [];
  let token = '';
  for (let pages = 0; pages < 100; pages++) {
    const answer = search(parseSearch(kind, { ...body, page: token ? { token } : { limit } }), registry);
    results.push(...answer.results as Json[]);
    token = answer.page.next_token;
    if (!token) return results;
    expect(answer.results, 'a page before the last is full').to.have.length(limit);
  }
  throw new Error('more than 100 pages');
}

const check = (subject: string, action: string, actor: string, ttl?: string) =>
  ({ subject: { id: subject }, action, resource: { type: 'ssh_actor', id: actor }, ...(ttl ? { context: { ttl } } : {}) });

describe('AuthZEN search against the reference policy', function () {
  it('finds exactly the subjects, actors and actions the oracle allows, each once, across pages', function () {
    fc.assert(fc.property(registryArbitrary, fc.integer({ min: 1, max: 4 }), fc.constantFrom(undefined, '2h', '9h'), (document, limit, ttl) => {
      const registry = loadRegistry(JSON.stringify(document));
      const properties = ttl ? { properties: { ttl } } : {};
      for (const actor of document.actors as Json[]) {
        for (const action of ACTIONS) {
          const found = readAll('subject', registry, { subject: { type: 'identity' }, action: { name: action, ...properties }, resource: { type: 'ssh_actor', id: actor.name } }, limit);
          const expected = SUBJECTS.filter((subject) => expectedAllow(document, check(subject, action, actor.name, ttl)));
          expect(found.map((r) => r.id)).to.have.members(expected).and.have.length(expected.length);
          expect(found.every((r) => r.type === 'identity')).to.equal(true);
        }
        for (const subject of SUBJECTS) {
          const actions = readAll('action', registry, { subject: { type: 'identity', id: subject }, resource: { type: 'ssh_actor', id: actor.name } }, limit);
          expect(actions.map((r) => r.name)).to.have.members(ACTIONS.filter((action) => expectedAllow(document, check(subject, action, actor.name))));
        }
      }
      for (const subject of SUBJECTS) {
        const actors = readAll('resource', registry, { subject: { type: 'identity', id: subject }, action: { name: 'sign', ...properties }, resource: { type: 'ssh_actor' } }, limit);
        const expected = (document.actors as Json[]).map((a) => a.name as string).filter((name) => expectedAllow(document, check(subject, 'sign', name, ttl)));
        expect(actors.map((r) => r.id)).to.have.members(expected).and.have.length(expected.length);
      }
    }), { numRuns: 150 });
  });
});
