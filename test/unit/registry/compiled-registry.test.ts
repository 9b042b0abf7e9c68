import { expect } from 'chai';
import { CompiledRegistry, RegistryCompiler } from '../../../src/registry/compiled-registry.js';
import { loadRegistry, validateRegistryText } from '../../../src/registry/load.js';
import { revisionOf } from '../../../src/registry/revision.js';
import { revisionOf as oracleRevision, sha256Hex } from '../../helpers/canonical-oracle.js';
import { actorEntry, member, registryDocument, signer, text } from '../../fixtures/registry.js';

describe('the compiled registry', () => {
  // Loaded in `before`, not at import: a test run counts as covering the load path only then.
  let registry: CompiledRegistry;
  before(() => {
    registry = loadRegistry(text(registryDocument(
      [
        actorEntry('agt-a'),
        actorEntry('adm-b', { type: 'admin', actions: ['sign', 'audit'], allowed_subjects: ['group:l1#member'] }),
        actorEntry('atm-c', { type: 'automation', allowed_subjects: [] }),
      ],
      [
        member('l1', 'group:l2#member'),
        member('l2', 'group:l3#member'),
        member('l3', 'iam:deep'),
        member('l2', 'iam:middle'),
        signer('atm-c', 'iam:direct'),
        signer('atm-c', 'group:l3#member'),
      ],
    )));
  });

  it('compiles batch by batch (RegistryCompiler) to the same registry the constructor builds', () => {
    const names = Array.from({ length: 7 }, (_, i) => `agt-s${i}`);
    const source = text(registryDocument(
      names.map((name, i) => actorEntry(name, { allowed_subjects: i % 2 === 0 ? [name] : ['group:g#member'] })),
      [member('g', 'iam:member'), signer('agt-s1', 'iam:tuple')],
      { metadata: { name: 'batches' } },
    ));
    const { document, groups, revision } = validateRegistryText(source);
    const { actors, relationships, ...head } = document;
    const compiler = new RegistryCompiler(relationships ?? []);
    for (let from = 0; from < actors.length; from += 3) compiler.add(actors.slice(from, from + 3));
    const batched = compiler.finish(head, revision, groups);
    const whole = loadRegistry(source);
    expect(batched.revision).to.equal(whole.revision);
    expect(batched.metadata).to.deep.equal(whole.metadata);
    expect(batched.counts).to.deep.equal(whole.counts);
    expect([...batched.actorNames()]).to.deep.equal(names);
    for (const name of names) {
      expect(batched.actor(name)).to.deep.equal(whole.actor(name));
      for (const subject of [name, 'iam:member', 'iam:tuple', 'iam:nobody']) {
        expect(batched.isSigner(name, subject), `${subject} for ${name}`).to.equal(whole.isSigner(name, subject));
      }
    }
  });

  it('applies actor defaults: actions sign, min ttl 1s, enabled', () => {
    const loaded = loadRegistry(text(registryDocument([{ name: 'agt-x', type: 'agent', principals: ['p'], ttl: { default: '1m', max: '1h' } }])));
    const actor = loaded.actor('agt-x');
    expect([...actor!.actions]).to.deep.equal(['sign']);
    expect(actor!.ttl).to.deep.equal({ default: 60, min: 1, max: 3600 });
    expect(actor!.disabled).to.equal(false);
  });

  it('counts actors by type, every type listed, and relationships', () => {
    expect(registry.counts).to.deep.equal({
      actors: 3,
      actors_by_type: { agent: 1, admin: 1, automation: 1, service: 0, human: 0 },
      relationships: 6,
    });
  });

  it('knows the union of the actions actors have', () => {
    expect([...registry.actions].sort()).to.deep.equal(['audit', 'sign']);
  });

  it('resolves members through three levels of nested groups', () => {
    expect(registry.signerPath('adm-b', 'iam:deep')).to.deep.equal([
      'actor:adm-b#signer@group:l1#member',
      'group:l1#member@group:l2#member',
      'group:l2#member@group:l3#member',
      'group:l3#member@iam:deep',
    ]);
    expect(registry.signerPath('adm-b', 'iam:middle')).to.have.length(3);
  });

  it('finds signers granted by relationships as well as by allowed_subjects', () => {
    expect(registry.signerPath('atm-c', 'iam:direct')).to.deep.equal(['actor:atm-c#signer@iam:direct']);
    expect(registry.signerPath('atm-c', 'iam:deep')).to.deep.equal(['actor:atm-c#signer@group:l3#member', 'group:l3#member@iam:deep']);
  });

  it('grants nothing beyond what the tuples say', () => {
    expect(registry.signerPath('atm-c', 'iam:middle')).to.equal(undefined);
    expect(registry.signerPath('agt-a', 'iam:deep')).to.equal(undefined);
    expect(registry.signerPath('agt-a', 'group:l1#member')).to.equal(undefined);
    expect(registry.signerPath('agt-missing', 'agt-a')).to.equal(undefined);
  });

  it('answers isSigner exactly when signerPath finds a path, for short lists and for long ones', () => {
    // 40 direct subjects (one twice) and 20 groups: past the size where lists become sets.
    const direct = Array.from({ length: 40 }, (_, i) => `iam:direct-${i}`);
    const groups = Array.from({ length: 20 }, (_, i) => `g${i}`);
    const many = loadRegistry(text(registryDocument(
      [
        actorEntry('adm-many', { type: 'admin', allowed_subjects: [...direct.slice(0, 30), ...groups.slice(0, 10).map((g) => `group:${g}#member`)] }),
        actorEntry('agt-few', { allowed_subjects: ['iam:direct-0', 'group:g0#member'] }),
      ],
      [
        ...groups.map((g, i) => member(g, `iam:member-${i}`)),
        ...direct.slice(29).map((subject) => signer('adm-many', subject)),
        ...groups.slice(10).map((g) => signer('adm-many', `group:${g}#member`)),
      ],
    )));
    const subjects = [...direct, ...groups.map((_, i) => `iam:member-${i}`), 'iam:stranger', 'group:g0#member'];
    for (const actor of ['adm-many', 'agt-few', 'agt-missing']) {
      for (const subject of subjects) {
        expect(many.isSigner(actor, subject), `${subject} on ${actor}`).to.equal(many.signerPath(actor, subject) !== undefined);
      }
    }
    expect(direct.every((subject) => many.isSigner('adm-many', subject))).to.equal(true);
    expect(many.isSigner('agt-few', 'iam:member-1')).to.equal(false);
    expect(many.signerPath('adm-many', 'iam:member-15')).to.deep.equal(['actor:adm-many#signer@group:g15#member', 'group:g15#member@iam:member-15']);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(registry)).to.equal(true);
    expect(Object.isFrozen(registry.actor('agt-a'))).to.equal(true);
  });

  it('handles a long chain of nested groups without recursion limits', () => {
    const depth = 5000;
    const relationships = Array.from({ length: depth }, (_, i) => member(`g${i}`, i === depth - 1 ? 'iam:leaf' : `group:g${i + 1}#member`));
    const deep = loadRegistry(text(registryDocument([actorEntry('agt-a', { allowed_subjects: ['group:g0#member'] })], relationships)));
    expect(deep.signerPath('agt-a', 'iam:leaf')).to.have.length(depth + 1);
  });
});

describe('registry revisions', () => {
  const document = registryDocument([actorEntry('agt-a')], [], { metadata: { name: 'x', source: 'y' } });

  it('are sha256: and 64 hex characters', () => {
    expect(revisionOf(document)).to.match(/^sha256:[0-9a-f]{64}$/);
  });

  it('do not change when the file is re-formatted or its keys re-ordered', () => {
    const pretty = JSON.stringify(document, null, 4);
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(document).reverse()));
    expect(loadRegistry(pretty).revision).to.equal(loadRegistry(text(document)).revision);
    expect(loadRegistry(reordered).revision).to.equal(loadRegistry(text(document)).revision);
  });

  it('change when any value changes', () => {
    const changed = registryDocument([actorEntry('agt-a', { disabled: true })], [], { metadata: { name: 'x', source: 'y' } });
    expect(revisionOf(changed)).not.to.equal(revisionOf(document));
  });
});

describe('the revision of any document', () => {
  it('is the SHA-256 of its canonical JSON, for any JSON value, integer-like and __proto__ keys included, past the hash chunk size', async () => {
    const { default: fc } = await import('fast-check');
    const key = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', '0', '1', '10', '2', '01', '-1', '1.5', 'b', 'a'));
    const value = fc.letrec((tie) => ({
      json: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 1 }), fc.array(tie('json'), { maxLength: 4 }), fc.dictionary(key, tie('json'), { maxKeys: 5 })),
    })).json;
    fc.assert(fc.property(value, (v) => {
      expect(revisionOf(v)).to.equal(oracleRevision(v));
    }), { numRuns: 500 });
    const proto = JSON.parse('{"b":1,"__proto__":{"x":1},"a":[{"d":1,"c":2}]}') as unknown;
    expect(revisionOf(proto)).to.equal(`sha256:${sha256Hex('{"__proto__":{"x":1},"a":[{"c":2,"d":1}],"b":1}')}`);
  });
});
