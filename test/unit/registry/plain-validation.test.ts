import { expect } from 'chai';
import fc from 'fast-check';
import { ValidationError } from 'yup';
import type { AnySchema } from 'yup';
import { isPlainActor, isPlainRelationship, plainlyMeetsSchema } from '../../../src/registry/plain-validation.js';
import { actorSchema, registrySchema, relationshipSchema } from '../../../src/registry/schema.js';
import { invalidCertificateParts, validCertificate } from '../../helpers/registry-shapes.js';

/**
 * The plain validation pass is a fast path of the yup schema: it may send a valid document to
 * yup (slower, same verdict), but must never accept one yup would refuse.
 */

type Json = Record<string, unknown>;

function schemaAccepts(schema: AnySchema, value: unknown): boolean {
  try {
    schema.validateSync(value, { abortEarly: false });
    return true;
  } catch (error) {
    if (error instanceof ValidationError) return false;
    throw error;
  }
}

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
const group = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,6}$/);
/** Mostly valid values, sometimes not: documents near the line between the two. */
function mostly<T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: invalid });
}

const subjectId = mostly(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@:/+=-]{0,10}$/), fc.constantFrom('group:x', 'actor:y', 'Group:z', 'a#b', ' a'));
const subject = fc.oneof(subjectId, group.map((g) => `group:${g}#member`));
const principal = mostly(fc.stringMatching(/^[A-Za-z0-9._@-]{1,12}$/), fc.constantFrom('a b', 'a,b', '*', 'a\u0000', 'a\u200b', ''));
const duration = mostly(fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom('1h', '90s', '1h30m', '8h')), fc.constantFrom(0, -1, 1.5, '3600', '1d', '0s', '87601h'));
const timestamp = fc.oneof(
  fc.date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2026-02-31T00:00:00Z', '2026-06-23T12:00:00+02:00', 'yesterday', '2026-06-23', 'x2026-06-23T12:00:00Z'),
);

const actor: fc.Arbitrary<Json> = fc.record({
  name,
  type: mostly(fc.constantFrom('agent', 'admin', 'automation', 'service', 'human'), fc.constant('robot')),
  actions: mostly<string[]>(fc.uniqueArray(fc.constantFrom('sign', 'audit'), { minLength: 1, maxLength: 2 }), fc.constantFrom([], ['Sign'], [''], ['sign', 'sign'])),
  principals: fc.array(principal, { minLength: 1, maxLength: 3 }),
  ttl: fc.record({ default: duration, min: duration, max: duration }, { requiredKeys: ['default', 'max'] }),
  allowed_subjects: fc.array(subject, { maxLength: 3 }),
  disabled: mostly(fc.boolean(), fc.constant('no' as unknown as boolean)),
  certificate: mostly(validCertificate, fc.tuple(validCertificate, invalidCertificateParts).map(([valid, broken]) => ({ ...valid, ...broken }))),
}, { requiredKeys: ['name', 'type', 'principals', 'ttl'] });

const relationship: fc.Arbitrary<Json> = fc.oneof(
  fc.record({ object: name.map((n) => `actor:${n}`), relation: mostly(fc.constant('signer'), fc.constant('member')), subject }),
  fc.record({ object: group.map((g) => `group:${g}`), relation: mostly(fc.constant('member'), fc.constantFrom('signer', 'owner')), subject }),
);

const document: fc.Arbitrary<Json> = fc.record({
  schema: mostly(fc.constant('flex-auth.registry/v1'), fc.constant('flex-auth.registry/v2')),
  metadata: fc.record({ name: fc.string({ maxLength: 5 }), source: fc.string({ maxLength: 5 }), generated_at: timestamp }, { requiredKeys: [] }),
  actors: fc.array(actor, { minLength: 1, maxLength: 3 }),
  relationships: fc.array(relationship, { maxLength: 4 }),
}, { requiredKeys: ['schema', 'actors'] });

const hostile: fc.Arbitrary<unknown> = fc.oneof(fc.anything({ maxDepth: 2 }), fc.constantFrom(null, '', 0, -1, 1.5, [], {}, 'x'.repeat(300), ['a', 'a']));

/** Paths into a value, for mutations. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return [prefix, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, Array.isArray(value) ? Number(k) : k]))];
}

/** The document with the value at `path` replaced (or, for `undefined`, removed), or a key added there. */
function mutate(base: Json, path: (string | number)[], value: unknown, addKey?: string): Json {
  const copy = structuredClone(base);
  if (path.length === 0) return addKey === undefined ? copy : { ...copy, [addKey]: value };
  let parent: any = copy;
  for (const key of path.slice(0, -1)) parent = parent[key];
  const last = path.at(-1)!;
  if (addKey !== undefined && typeof parent[last] === 'object' && parent[last] !== null && !Array.isArray(parent[last])) parent[last][addKey] = value;
  else if (value === undefined) delete parent[last];
  else parent[last] = value;
  return copy;
}

const mutated: fc.Arbitrary<Json> = document.chain((base) =>
  fc.tuple(fc.constantFrom(...paths(base)), fc.oneof(hostile, fc.constant(undefined)), fc.option(fc.constantFrom('extra', 'allowed_subject', '__proto__'), { nil: undefined }))
    .map(([path, value, key]) => mutate(base, path, value, key)));

describe('the plain validation pass (a fast path of the schema)', () => {
  it('accepts no document, generated or mutated, that the schema refuses', () => {
    fc.assert(fc.property(fc.oneof(document, mutated), (doc) => {
      if (!plainlyMeetsSchema(doc)) return;
      expect(schemaAccepts(registrySchema, doc), JSON.stringify(doc)).to.equal(true);
    }), { numRuns: 3000 });
    // The generator must reach the accepting side too. Counted on a fixed sample: over random runs
    // of 3,000 the count went from 28 to 49, so a bound on it would fail now and then.
    const accepted = fc.sample(fc.oneof(document, mutated), { numRuns: 3000, seed: 20261202 }).filter((doc) => plainlyMeetsSchema(doc)).length;
    expect(accepted, 'the generator should also make valid documents').to.be.greaterThan(30);
  });

  it('accepts no actor or relationship on its own that its schema refuses', () => {
    let accepted = 0;
    fc.assert(fc.property(fc.oneof(actor, actor.chain((a) => fc.tuple(fc.constantFrom(...paths(a)), hostile).map(([p, v]) => mutate(a, p, v)))), (item) => {
      if (!isPlainActor(item)) return;
      accepted++;
      expect(schemaAccepts(actorSchema, item), JSON.stringify(item)).to.equal(true);
    }), { numRuns: 2000 });
    fc.assert(fc.property(fc.oneof(relationship, relationship.chain((r) => fc.tuple(fc.constantFrom(...paths(r)), hostile).map(([p, v]) => mutate(r, p, v)))), (item) => {
      if (!isPlainRelationship(item)) return;
      accepted++;
      expect(schemaAccepts(relationshipSchema, item), JSON.stringify(item)).to.equal(true);
    }), { numRuns: 2000 });
    expect(accepted).to.be.greaterThan(100);
  });

  it('accepts the documents the schema accepts, every optional field included', () => {
    // Valid by construction: the fast path should take all of them, or it saves nothing.
    const seconds = fc.integer({ min: 1, max: 86_400 });
    const asDuration = (value: number) => fc.constantFrom<number | string>(value, `${value}s`);
    const ttl = fc.tuple(seconds, seconds, seconds, fc.boolean()).map(([a, b, c, withMin]) => [a, b, c].sort((x, y) => x - y).concat(withMin ? 1 : 0))
      .chain(([min, def, max, withMin]) => fc.record({
        default: asDuration(def!), max: asDuration(max!), ...(withMin ? { min: asDuration(min!) } : {}),
      }));
    const validSubject = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@:/+=-]{0,10}$/).filter((id) => !/^(group|actor):/i.test(id)),
      group.map((g) => `group:${g}#member`),
    );
    const validActor = fc.record({
      name,
      type: fc.constantFrom('agent', 'admin', 'automation', 'service', 'human'),
      actions: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_.:-]{0,8}$/), { minLength: 1, maxLength: 3 }),
      principals: fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9._@-]{1,12}$/), { minLength: 1, maxLength: 3 }),
      ttl,
      allowed_subjects: fc.uniqueArray(validSubject, { maxLength: 3 }),
      disabled: fc.boolean(),
      certificate: validCertificate,
    }, { requiredKeys: ['name', 'type', 'principals', 'ttl'] });
    const validRelationship = fc.oneof(
      fc.record({ object: name.map((n) => `actor:${n}`), relation: fc.constant('signer'), subject: validSubject }),
      fc.record({ object: group.map((g) => `group:${g}`), relation: fc.constant('member'), subject: validSubject }),
    );
    const valid = fc.record({
      schema: fc.constant('flex-auth.registry/v1'),
      metadata: fc.record({
        name: fc.string({ minLength: 1, maxLength: 253 }), source: fc.string({ minLength: 1, maxLength: 10 }),
        generated_at: fc.date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
      }, { requiredKeys: [] }),
      actors: fc.uniqueArray(validActor, { minLength: 1, maxLength: 4, selector: (a) => a.name }),
      relationships: fc.array(validRelationship, { maxLength: 4 }),
    }, { requiredKeys: ['schema', 'actors'] });
    fc.assert(fc.property(valid, (doc) => {
      expect(schemaAccepts(registrySchema, doc), JSON.stringify(doc)).to.equal(true);
      expect(plainlyMeetsSchema(doc), JSON.stringify(doc)).to.equal(true);
    }), { numRuns: 500 });
  });

  it('accepts every field at its longest, and refuses it one character longer', () => {
    const longest = {
      schema: 'flex-auth.registry/v1',
      metadata: { name: 'n'.repeat(253), source: 's'.repeat(253), generated_at: `2026-06-23T12:00:00.${'1'.repeat(43)}Z` },
      actors: [{
        name: `a${'b'.repeat(62)}`, type: 'agent', actions: [`a${'b'.repeat(63)}`], principals: ['p'.repeat(256)],
        ttl: { default: '87600h', max: 315_360_000 }, allowed_subjects: [`i${'d'.repeat(299)}`, `group:G${'g'.repeat(127)}#member`],
      }],
    };
    expect(longest.metadata.generated_at).to.have.length(64);
    expect(plainlyMeetsSchema(longest)).to.equal(true);
    expect(schemaAccepts(registrySchema, longest)).to.equal(true);
    const tooLong: [string, (doc: any) => void][] = [
      ['metadata.name', (doc) => { doc.metadata.name += 'n'; }],
      ['metadata.source', (doc) => { doc.metadata.source += 's'; }],
      ['metadata.generated_at', (doc) => { doc.metadata.generated_at = doc.metadata.generated_at.replace('Z', '1Z'); }],
      ['actors[0].actions[0]', (doc) => { doc.actors[0].actions[0] += 'b'; }],
      ['actors[0].principals[0]', (doc) => { doc.actors[0].principals[0] += 'p'; }],
      ['actors[0].allowed_subjects[0]', (doc) => { doc.actors[0].allowed_subjects[0] += 'd'; }],
    ];
    for (const [path, lengthen] of tooLong) {
      const doc = structuredClone(longest);
      lengthen(doc);
      expect(plainlyMeetsSchema(doc), path).to.equal(false);
      expect(schemaAccepts(registrySchema, doc), path).to.equal(false);
    }
  });
});
