import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { RegistryValidationError } from '../../../src/core/errors.js';
import { loadRegistry, validateRegistry } from '../../../src/registry/load.js';
import { actorEntry, member, registryDocument, signer } from '../../fixtures/registry.js';
import type { Json } from '../../fixtures/registry.js';

/** `path: message` lines for a document, as `flex-auth validate` prints them. */
function errors(document: unknown): string[] {
  return validateRegistry(document).map((detail) => `${detail.path}: ${detail.message}`);
}

function withActor(overrides: Json): Json {
  return registryDocument([actorEntry('agt-a', overrides)]);
}

/** Asserts exactly one error, at `path`, whose message matches `message`. */
function expectOne(document: unknown, path: string, message: RegExp): void {
  const found = validateRegistry(document);
  expect(found.map((d) => d.path), JSON.stringify(found)).to.deep.equal([path]);
  expect(found[0]!.message).to.match(message);
}

describe('registry validation', () => {
  it('accepts both shipped example registries', () => {
    for (const file of ['production_registry_snapshot.json', 'registry_snapshot.json']) {
      const document: unknown = JSON.parse(readFileSync(new URL(`../../../../examples/ops-warden/${file}`, import.meta.url), 'utf8'));
      expect(errors(document), file).to.deep.equal([]);
    }
  });

  it('accepts a minimal document: no metadata, relationships, actions, min, allowed_subjects or disabled', () => {
    const document = { schema: 'flex-auth.registry/v1', actors: [{ name: 'agt-a', type: 'agent', principals: ['agt-a'], ttl: { default: 60, max: 120 } }] };
    expect(errors(document)).to.deep.equal([]);
  });

  describe('rejects, with the JSON path of the problem,', () => {
    it('text that is not JSON', () => {
      expect(() => loadRegistry('{"schema": ')).to.throw(RegistryValidationError).with.property('details').that.satisfies(
        (details: { path: string; message: string }[]) => details.length === 1 && details[0]!.path === '(root)' && /not valid JSON: .* at line 1, column 12$/.test(details[0]!.message),
      );
    });

    it('a document that is not an object', () => {
      for (const document of [[], null, 'x', 1]) expect(validateRegistry(document)).to.have.length.greaterThan(0);
    });

    it('a missing or different schema id', () => {
      const { schema: _omitted, ...rest } = registryDocument();
      expectOne(rest, 'schema', /required/);
      expectOne({ ...registryDocument(), schema: 'flex-auth.registry/v2' }, 'schema', /flex-auth\.registry\/v1/);
    });

    it('an unknown key anywhere, such as the typo allowed_subject', () => {
      expectOne(withActor({ allowed_subject: ['agt-a'] }), 'actors[0].allowed_subject', /unknown key/);
      expectOne({ ...registryDocument(), extra: 1 }, 'extra', /unknown key/);
      expectOne({ ...registryDocument(), metadata: { name: 'x', owner: 'y' } }, 'metadata.owner', /unknown key/);
      expectOne(withActor({ ttl: { default: '1h', max: '8h', maximum: '9h' } }), 'actors[0].ttl.maximum', /unknown key/);
      expectOne(registryDocument([actorEntry('agt-a')], [{ ...signer('agt-a', 'iam:x'), note: 'x' }]), 'relationships[0].note', /unknown key/);
    });

    it('a metadata timestamp that is not RFC 3339', () => {
      expectOne({ ...registryDocument(), metadata: { generated_at: 'yesterday' } }, 'metadata.generated_at', /RFC 3339/);
    });

    it('missing, non-array or empty actors', () => {
      expectOne({ schema: 'flex-auth.registry/v1' }, 'actors', /required/);
      expectOne({ ...registryDocument(), actors: {} }, 'actors', /array/);
      expectOne({ ...registryDocument(), actors: [] }, 'actors', /at least one/);
    });

    it('a malformed or duplicate actor name', () => {
      expectOne(registryDocument([actorEntry('Agt_A')]), 'actors[0].name', /\^\[a-z\]/);
      expectOne(registryDocument([actorEntry('a'.repeat(64))]), 'actors[0].name', /63|\^\[a-z\]/);
      expectOne(registryDocument([actorEntry('agt-a'), actorEntry('agt-b'), actorEntry('agt-a')]), 'actors[2].name', /duplicate actor name agt-a \(first at index 0\)/);
    });

    it('an unknown actor type', () => {
      expectOne(withActor({ type: 'robot' }), 'actors[0].type', /agent, admin, automation, service, human/);
    });

    it('empty, malformed or duplicate actions', () => {
      expectOne(withActor({ actions: [] }), 'actors[0].actions', /empty/);
      expectOne(withActor({ actions: ['Sign'] }), 'actors[0].actions[0]', /action/);
      expectOne(withActor({ actions: ['sign', 'sign'] }), 'actors[0].actions[1]', /duplicate action sign/);
    });

    it('missing, empty, blank-containing or duplicate principals', () => {
      const { principals: _omitted, ...noPrincipals } = actorEntry('agt-a');
      expectOne(registryDocument([noPrincipals]), 'actors[0].principals', /required/);
      expectOne(withActor({ principals: [] }), 'actors[0].principals', /empty/);
      expectOne(withActor({ principals: ['a b'] }), 'actors[0].principals[0]', /commas or whitespace/);
      expectOne(withActor({ principals: ['a,b'] }), 'actors[0].principals[0]', /commas or whitespace/);
      expectOne(withActor({ principals: ['x', 'y', 'x'] }), 'actors[0].principals[2]', /duplicate principal x/);
    });

    it('a missing ttl or ttl bound', () => {
      expectOne(withActor({ ttl: undefined }), 'actors[0].ttl', /required/);
      expectOne(withActor({ ttl: { max: '8h' } }), 'actors[0].ttl.default', /required/);
      expectOne(withActor({ ttl: { default: '1h' } }), 'actors[0].ttl.max', /required/);
    });

    it('a ttl that is not a valid duration', () => {
      for (const bad of ['1d', '0s', -1, 1.5, '90', '']) {
        expectOne(withActor({ ttl: { default: bad, max: '8h' } }), 'actors[0].ttl.default', /duration|positive/);
      }
    });

    it('ttl bounds out of order', () => {
      expectOne(withActor({ ttl: { default: '9h', max: '8h' } }), 'actors[0].ttl.max', /^must be >= ttl\.default$/);
      expectOne(withActor({ ttl: { default: '1m', min: '5m', max: '8h' } }), 'actors[0].ttl.min', /^must be <= ttl\.default$/);
    });

    it('a malformed or duplicate allowed subject', () => {
      expectOne(withActor({ allowed_subjects: ['has space'] }), 'actors[0].allowed_subjects[0]', /subject id/);
      expectOne(withActor({ allowed_subjects: ['group:ops#owner'] }), 'actors[0].allowed_subjects[0]', /userset/);
      expectOne(withActor({ allowed_subjects: ['agt-a', 'agt-a'] }), 'actors[0].allowed_subjects[1]', /duplicate subject/);
    });

    it('a disabled flag that is not a boolean', () => {
      expectOne(withActor({ disabled: 'false' }), 'actors[0].disabled', /true or false/);
    });

    it('a malformed relationship', () => {
      const doc = (rel: Json) => registryDocument([actorEntry('agt-a')], [rel]);
      expectOne(doc({ object: 'host:x', relation: 'signer', subject: 'iam:x' }), 'relationships[0].object', /actor:NAME or group:NAME/);
      expectOne(doc({ object: 'actor:agt-a', relation: 'owner', subject: 'iam:x' }), 'relationships[0].relation', /signer .* member/);
      expectOne(doc({ object: 'actor:agt-a', relation: 'member', subject: 'iam:x' }), 'relationships[0].relation', /must be signer on actor objects/);
      expectOne(doc({ object: 'group:ops', relation: 'signer', subject: 'iam:x' }), 'relationships[0].relation', /must be member on group objects/);
      expectOne(doc({ object: 'actor:agt-a', relation: 'signer', subject: 'bad subject' }), 'relationships[0].subject', /subject id/);
    });

    it('a relationship on an actor that is not registered', () => {
      expectOne(registryDocument([actorEntry('agt-a')], [signer('agt-ghost', 'iam:x')]), 'relationships[0].object', /actor agt-ghost is not registered/);
    });

    it('a userset naming a group that has no members', () => {
      expectOne(registryDocument([actorEntry('agt-a')], [signer('agt-a', 'group:ghost#member')]), 'relationships[0].subject', /group ghost has no members/);
      expectOne(withActor({ allowed_subjects: ['group:ghost#member'] }), 'actors[0].allowed_subjects[0]', /group ghost has no members/);
    });

    it('a group that contains itself, directly or through others', () => {
      expectOne(registryDocument([actorEntry('agt-a')], [member('a', 'group:a#member')]), 'relationships[0]', /cycle: group:a -> group:a/);
      const found = errors(registryDocument([actorEntry('agt-a')], [
        member('a', 'iam:x'), member('a', 'group:b#member'), member('b', 'group:c#member'), member('c', 'group:a#member'),
      ]));
      expect(found).to.deep.equal(['relationships[3]: group membership cycle: group:a -> group:b -> group:c -> group:a']);
    });
  });

  it('reports every error of a document at once, structural and reference errors together', () => {
    const document = registryDocument(
      [
        actorEntry('agt-a', { ttl: { default: '9h', max: '8h' } }),
        actorEntry('agt-b', { allowed_subject: ['x'], type: 'robot' }),
      ],
      [signer('agt-ghost', 'iam:x'), member('a', 'group:a#member')],
    );
    expect(errors(document)).to.have.members([
      'actors[0].ttl.max: must be >= ttl.default',
      'actors[1].type: must be one of agent, admin, automation, service, human',
      'actors[1].allowed_subject: unknown key',
      'relationships[0].object: actor agt-ghost is not registered',
      'relationships[1]: group membership cycle: group:a -> group:a',
    ]);
  });
});
