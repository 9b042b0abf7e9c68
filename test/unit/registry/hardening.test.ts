import { expect } from 'chai';
import { RegistryValidationError } from '../../../src/core/errors.js';
import type { ErrorDetail } from '../../../src/core/errors.js';
import { loadRegistry, validateRegistry } from '../../../src/registry/load.js';
import { actorEntry, member, registryDocument, signer, text } from '../../fixtures/registry.js';
import type { Json } from '../../fixtures/registry.js';

/** The error a registry text is refused with (fails the test if it loads). */
function refusal(registryText: string): RegistryValidationError {
  try {
    loadRegistry(registryText);
  } catch (error) {
    expect(error).to.be.instanceOf(RegistryValidationError);
    return error as RegistryValidationError;
  }
  expect.fail('the registry loaded');
}

function paths(details: readonly ErrorDetail[]): string[] {
  return details.map((d) => d.path);
}

function withActor(overrides: Json): Json {
  return registryDocument([actorEntry('agt-a', overrides)]);
}

/** A chain of `depth` nested groups, top granted to agt-a, with one member at each level. */
function chain(depth: number): Json {
  const relationships: Json[] = [signer('agt-a', 'group:g0#member')];
  for (let i = 0; i < depth; i++) {
    relationships.push(member(`g${i}`, `iam:u${i}`));
    if (i + 1 < depth) relationships.push(member(`g${i}`, `group:g${i + 1}#member`));
  }
  return registryDocument([actorEntry('agt-a', { allowed_subjects: [] })], relationships);
}

describe('registry validation: bounded and strict', () => {
  it('lists 20 errors, then one detail counting the rest, and counts them all in the message', () => {
    const actors = Array.from({ length: 30 }, (_, i) => actorEntry(`agt-${i}`, { type: 'robot' }));
    const error = refusal(text(registryDocument(actors)));
    expect(error.message).to.equal('registry is invalid: 30 errors');
    expect(error.details).to.have.length(21);
    expect(paths(error.details.slice(0, 20))).to.deep.equal(Array.from({ length: 20 }, (_, i) => `actors[${i}].type`));
    expect(error.details[20]).to.deep.equal({ path: '(root)', message: '... and 10 more errors' });
  });

  it('says "1 more error" for one past the cap, and lists exactly 20 without a count', () => {
    const actors = (count: number) => Array.from({ length: count }, (_, i) => actorEntry(`agt-${i}`, { type: 'robot' }));
    expect(refusal(text(registryDocument(actors(21)))).details[20]).to.deep.equal({ path: '(root)', message: '... and 1 more error' });
    expect(paths(refusal(text(registryDocument(actors(20)))).details)).not.to.include('(root)');
  });

  it('still counts every invalid actor of a 50,000-actor registry while listing only 20', () => {
    const actors = Array.from({ length: 50_000 }, (_, i) => actorEntry(`agt-${i}`, { principals: ['bad principal'] }));
    const error = refusal(text(registryDocument(actors)));
    expect(error.message).to.equal('registry is invalid: 50000 errors');
    expect(error.details).to.have.length(21);
    expect(error.details[20]!.message).to.equal('... and 49980 more errors');
  });

  it('lists at most 20 duplicate actor names and counts the rest', () => {
    const actors = Array.from({ length: 40 }, () => actorEntry('agt-a'));
    const error = refusal(text(registryDocument(actors)));
    expect(error.message).to.equal('registry is invalid: 39 errors');
    expect(paths(error.details)).to.deep.equal([...Array.from({ length: 20 }, (_, i) => `actors[${i + 1}].name`), '(root)']);
    expect(error.details[20]!.message).to.equal('... and 19 more errors');
  });

  it('refuses group:NAME without #member in allowed_subjects and says how to grant the members', () => {
    const document = registryDocument([actorEntry('agt-a', { allowed_subjects: ['group:ops'] })], [member('ops', 'iam:alice')]);
    const details = validateRegistry(document);
    expect(paths(details)).to.deep.equal(['actors[0].allowed_subjects[0]']);
    expect(details[0]!.message).to.match(/group:ops#member/);
  });

  it('reserves the group: and actor: prefixes for subject ids, in allowed_subjects and relationships', () => {
    const document = registryDocument(
      [actorEntry('agt-a', { allowed_subjects: ['actor:agt-a', 'Group:ops'] })],
      [signer('agt-a', 'actor:agt-b'), member('ops', 'iam:alice')],
    );
    expect(paths(validateRegistry(document))).to.deep.equal(['actors[0].allowed_subjects[0]', 'actors[0].allowed_subjects[1]', 'relationships[0].subject']);
  });

  it('refuses principals outside [A-Za-z0-9._@-]: NUL, zero-width, wildcards', () => {
    for (const principal of ['a\u0000b', 'a\u200bb', '\ufeff', 'root*', 'a?b', 'é']) {
      const details = validateRegistry(withActor({ principals: ['ok', principal] }));
      expect(paths(details), JSON.stringify(principal)).to.deep.equal(['actors[0].principals[1]']);
      expect(details[0]!.message).to.match(/letters, digits and \._@-/);
    }
  });

  describe('generated_at, as a real RFC 3339 date-time', () => {
    const at = (generatedAt: string) => validateRegistry(registryDocument(undefined, [], { metadata: { generated_at: generatedAt } }));

    it('refuses impossible dates and times', () => {
      for (const value of ['2026-02-31T00:00:00Z', '2023-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-13-01T00:00:00Z', '2026-00-10T00:00:00Z',
        '2026-06-00T00:00:00Z', '2026-06-23T24:00:00Z', '2026-06-23T12:60:00Z', '2026-06-23T12:00:61Z', '2026-06-23T12:00:00+24:00', '2026-06-23T12:00:00+01:60']) {
        expect(paths(at(value)), value).to.deep.equal(['metadata.generated_at']);
      }
    });

    it('refuses what is not RFC 3339 at all, whatever Date.parse makes of it', () => {
      for (const value of ['x2026-06-23T12:00:00Z', '2026-06-23T12:00:00Z junk', '2026-06-23T12:00Z', '2026-06-23 12:00:00Z', '2026-06-23T12:00:00', 'June 23, 2026']) {
        expect(paths(at(value)), value).to.deep.equal(['metadata.generated_at']);
      }
    });

    it('accepts real instants, leap days, fractions, offsets and a leap second', () => {
      for (const value of ['2026-06-23T12:00:00Z', '2024-02-29T23:59:59z', '2000-02-29T00:00:00.123456+05:30', '2016-12-31t23:59:60-23:59', '2026-04-30T00:00:00Z']) {
        expect(at(value), value).to.deep.equal([]);
      }
    });
  });

  it('refuses a duplicate key, naming its path, line and column; the last value does not silently win', () => {
    const registryText = '{"schema":"flex-auth.registry/v1","actors":[\n{"name":"agt-a","type":"agent","principals":["agt-a"],"ttl":{"default":60,"max":60},\n "disabled":false, "disabled":true}]}';
    const error = refusal(registryText);
    expect(error.details).to.deep.equal([{ path: 'actors[0].disabled', message: 'not strict JSON: duplicate key at line 3, column 20' }]);
  });

  it('gives line and column for bad syntax, at the root path', () => {
    const error = refusal('{\n  "schema": "flex-auth.registry/v1",\n  "actors": [,]\n}');
    expect(error.details).to.have.length(1);
    expect(error.details[0]!.path).to.equal('(root)');
    expect(error.details[0]!.message).to.match(/^not valid JSON: .* at line 3, column 14$/);
  });

  describe('deep group nesting', () => {
    let registry: ReturnType<typeof loadRegistry>;
    before(() => {
      registry = loadRegistry(text(chain(3_000)));
    });

    it('grants every level of a 3,000-deep chain, through the ordinary check and the explained path', () => {
      for (const level of [0, 1, 1_500, 2_999]) {
        expect(registry.isSigner('agt-a', `iam:u${level}`), `level ${level}`).to.equal(true);
        const path = registry.signerPath('agt-a', `iam:u${level}`)!;
        expect(path).to.have.length(level + 2);
        expect(path.at(-1)).to.equal(`group:g${level}#member@iam:u${level}`);
      }
      expect(registry.isSigner('agt-a', 'iam:u3000')).to.equal(false);
      expect(registry.signerPath('agt-a', 'iam:u3000')).to.equal(undefined);
    });
  });
});

describe('the compiled registry, on names that look alike', () => {
  it('does not let a group named like an actor grant its members signing for that actor', () => {
    const registry = loadRegistry(text(registryDocument(
      [actorEntry('agt-a', { allowed_subjects: ['iam:owner'] })],
      [member('agt-a', 'iam:intruder')],
    )));
    expect(registry.isSigner('agt-a', 'iam:intruder')).to.equal(false);
    expect(registry.signerPath('agt-a', 'iam:intruder')).to.equal(undefined);
    expect(registry.isSigner('agt-a', 'iam:owner')).to.equal(true);
  });

  it('keeps the document metadata as given', () => {
    const metadata = { name: 'ops-warden-production', source: 'ops-warden inventory', generated_at: '2026-06-23T12:00:00Z' };
    expect(loadRegistry(text(registryDocument(undefined, [], { metadata }))).metadata).to.deep.equal(metadata);
  });

  it('keeps each actor its own actions and ttl, however many actors share some', () => {
    const registry = loadRegistry(text(registryDocument([
      actorEntry('agt-a', { actions: ['sign'], ttl: { default: 60, max: 120 } }),
      actorEntry('agt-b', { actions: ['sign', 'audit'], ttl: { default: 60, min: 30, max: 120 } }),
      actorEntry('agt-c', { actions: ['sign', 'audit'], ttl: { default: 90, max: 120 } }),
    ])));
    expect([...registry.actor('agt-a')!.actions]).to.deep.equal(['sign']);
    expect([...registry.actor('agt-b')!.actions]).to.deep.equal(['sign', 'audit']);
    expect(registry.actor('agt-a')!.ttl).to.deep.equal({ default: 60, min: 1, max: 120 });
    expect(registry.actor('agt-b')!.ttl).to.deep.equal({ default: 60, min: 30, max: 120 });
    expect(registry.actor('agt-c')!.ttl).to.deep.equal({ default: 90, min: 1, max: 120 });
  });
});
