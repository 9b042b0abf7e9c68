import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import fc from 'fast-check';
import type { RegistryDocument } from '../../../src/registry/document.js';
import { loadRegistry } from '../../../src/registry/load.js';
import { CANONICAL_KEYS, revisionOf, revisionOfValid } from '../../../src/registry/revision.js';
import { registrySchema } from '../../../src/registry/schema.js';
import { revisionOf as oracleRevision, sha256Hex } from '../../helpers/canonical-oracle.js';

type Described = { fields: Record<string, Described & { innerType?: Described }> };

const sorted = (keys: Iterable<string>) => [...keys].sort();
const sha256 = (text: string) => `sha256:${sha256Hex(text)}`;

// Plain ASCII, and strings with quotes, escapes, controls and beyond ASCII.
const tricky = fc.constantFrom('a', 'Z', '0', '-', ':', ' ', '"', '\\', '/', '\u0000', '\n', '\u007f', 'é', '\u2028', '\ud800', '😀');
const text = fc.oneof(fc.string({ unit: tricky, minLength: 1, maxLength: 12 }), fc.string({ minLength: 1, maxLength: 12 }));
const duration = fc.oneof(fc.integer({ min: 1, max: 315_360_000 }), fc.constantFrom('1h', '90s', '1h30m', '8h'));
const strings = fc.uniqueArray(text, { minLength: 1, maxLength: 3 });

/** Documents of a valid registry's shape (every key the schema knows, each present or not). */
const documentShape: fc.Arbitrary<RegistryDocument> = fc.record({
  schema: fc.constant('flex-auth.registry/v1' as const),
  metadata: fc.record({ name: text, source: text, generated_at: fc.constant('2026-06-23T12:00:00Z') }, { requiredKeys: [] }),
  actors: fc.array(fc.record({
    name: text,
    type: fc.constantFrom('agent', 'admin', 'automation'),
    actions: strings,
    principals: strings,
    ttl: fc.record({ default: duration, min: duration, max: duration }, { requiredKeys: ['default', 'max'] }),
    allowed_subjects: fc.uniqueArray(text, { maxLength: 3 }),
    disabled: fc.boolean(),
    certificate: fc.record({
      types: fc.constantFrom(['user'], ['host'], ['user', 'host']),
      extensions: fc.record({ allowed: fc.constantFrom(['permit-pty'], []), default: fc.constantFrom(['permit-pty'], []) }, { requiredKeys: ['allowed'] }),
      critical_options: fc.record({ force_command: text, source_address: fc.constantFrom(['10.0.0.0/8'], ['2001:db8::/32', '192.0.2.0/24']) }, { requiredKeys: [] }),
    }, { requiredKeys: [] }),
  }, { requiredKeys: ['name', 'type', 'principals', 'ttl'] }), { minLength: 1, maxLength: 4 }),
  relationships: fc.array(fc.record({ object: text, relation: fc.constantFrom('signer' as const, 'member' as const), subject: text }), { maxLength: 3 }),
}, { requiredKeys: ['schema', 'actors'] }) as fc.Arbitrary<RegistryDocument>;

describe('the registry revision', () => {
  it('is the SHA-256 of the canonical JSON, whichever way the keys were written', () => {
    const document = { schema: 'flex-auth.registry/v1', actors: [{ type: 'agent', name: 'agt-a', ttl: { max: '8h', default: '1h' }, principals: ['agt-a'] }] };
    const canonical = '{"actors":[{"name":"agt-a","principals":["agt-a"],"ttl":{"default":"1h","max":"8h"},"type":"agent"}],"schema":"flex-auth.registry/v1"}';
    expect(revisionOf(document)).to.equal(sha256(canonical));
    expect(revisionOfValid(document as RegistryDocument)).to.equal(sha256(canonical));
  });

  it('written field by field for a valid document, equals the generic one, whatever the strings hold', () => {
    fc.assert(fc.property(documentShape, (document) => {
      expect(revisionOfValid(document)).to.equal(revisionOf(document));
      expect(revisionOf(document)).to.equal(oracleRevision(document));
    }), { numRuns: 1000 });
  });

  it('writes every key it knows, as the generic revision does', () => {
    const full = {
      schema: 'flex-auth.registry/v1',
      metadata: { source: 's', name: 'n', generated_at: '2026-06-23T12:00:00Z' },
      actors: [{ type: 'agent', name: 'agt-a', actions: ['sign'], principals: ['p'], ttl: { min: 60, max: '8h', default: '1h' }, allowed_subjects: ['iam:x'], disabled: false, certificate: { types: ['user'] } }],
      relationships: [{ subject: 'iam:x', relation: 'signer', object: 'actor:agt-a' }],
    } as const;
    expect(sorted(Object.keys(full))).to.deep.equal(CANONICAL_KEYS.document);
    expect(sorted(Object.keys(full.metadata))).to.deep.equal(CANONICAL_KEYS.metadata);
    expect(sorted(Object.keys(full.actors[0]))).to.deep.equal(CANONICAL_KEYS.actor);
    expect(sorted(Object.keys(full.actors[0].ttl))).to.deep.equal(CANONICAL_KEYS.ttl);
    expect(sorted(Object.keys(full.relationships[0]))).to.deep.equal(CANONICAL_KEYS.relationship);
    expect(revisionOfValid(full as unknown as RegistryDocument)).to.equal(revisionOf(full));
  });

  it('knows exactly the keys the schema allows, so no field can be left out of it', () => {
    const schema = registrySchema.describe() as unknown as Described;
    const actor = schema.fields.actors!.innerType!;
    expect(CANONICAL_KEYS.document).to.deep.equal(sorted(Object.keys(schema.fields)));
    expect(CANONICAL_KEYS.metadata).to.deep.equal(sorted(Object.keys(schema.fields.metadata!.fields)));
    expect(CANONICAL_KEYS.actor).to.deep.equal(sorted(Object.keys(actor.fields)));
    expect(CANONICAL_KEYS.ttl).to.deep.equal(sorted(Object.keys(actor.fields.ttl!.fields)));
    expect(CANONICAL_KEYS.relationship).to.deep.equal(sorted(Object.keys(schema.fields.relationships!.innerType!.fields)));
  });

  it('of the production example, as loaded, is the generic revision of its document', () => {
    const text = readFileSync(new URL('../../../../examples/ops-warden/production_registry_snapshot.json', import.meta.url), 'utf8');
    expect(loadRegistry(text).revision).to.equal(revisionOf(JSON.parse(text)));
  });
});
