import { expect } from 'chai';
import fc from 'fast-check';
import { decide } from '../../../src/core/decide.js';
import type { CheckRequest } from '../../../src/core/types.js';
import { loadAccess } from '../../../src/registry/access.js';
import { CHANGE_KINDS, diffAccess } from '../../../src/registry/diff.js';
import type { AccessChange, RegistryDiff } from '../../../src/registry/diff.js';
import { loadRegistry } from '../../../src/registry/load.js';
import { actorEntry, member, registryDocument, signer, text } from '../../fixtures/registry.js';
import type { Json } from '../../fixtures/registry.js';

function diffOf(before: Json, after: Json): RegistryDiff {
  return diffAccess(loadAccess(text(before)), loadAccess(text(after)));
}

/** The changes without the revisions, for comparing with what a test expects. */
function changesOf(before: Json, after: Json): AccessChange[] {
  return [...diffOf(before, after).changes];
}

describe('registry diff', () => {
  const backup = actorEntry('atm-backup', { type: 'automation', allowed_subjects: ['atm-backup'] });
  const groups = [
    member('backup-operators', 'iam:alice'),
    member('backup-operators', 'group:oncall#member'),
    member('oncall', 'iam:carol'),
    signer('atm-backup', 'group:backup-operators#member'),
  ];

  it('names the nested group path through which a new member gains access', () => {
    const before = registryDocument([backup], groups);
    const after = registryDocument([backup], [...groups, member('oncall', 'iam:dave')]);
    const diff = diffOf(before, after);
    expect(diff.changes).to.deep.equal([
      { actor: 'atm-backup', change: 'subjects_added', values: ['iam:dave via group:backup-operators > group:oncall'], widening: true },
    ]);
    expect(diff.widening).to.equal(true);
    expect(diff.from).to.equal(loadRegistry(text(before)).revision);
    expect(diff.to).to.equal(loadRegistry(text(after)).revision);
  });

  it('reports the subjects a removed relationship tuple took away, as not widening', () => {
    const before = registryDocument([backup], groups);
    const after = registryDocument([backup], groups.filter((rel) => rel.subject !== 'group:oncall#member'));
    const diff = diffOf(before, after);
    expect(diff.changes).to.deep.equal([
      { actor: 'atm-backup', change: 'subjects_removed', values: ['iam:carol via group:backup-operators > group:oncall'], widening: false },
    ]);
    expect(diff.widening).to.equal(false);
  });

  it('reports a removed signer tuple for every subject it granted', () => {
    const before = registryDocument([backup], groups);
    const after = registryDocument([backup], groups.slice(0, 3));
    expect(changesOf(before, after)).to.deep.equal([
      {
        actor: 'atm-backup', change: 'subjects_removed', widening: false,
        values: ['iam:alice via group:backup-operators', 'iam:carol via group:backup-operators > group:oncall'],
      },
    ]);
  });

  it('reports a disabled actor as not widening and an enabled one as widening', () => {
    const on = registryDocument([actorEntry('agt-a')]);
    const off = registryDocument([actorEntry('agt-a', { disabled: true })]);
    expect(changesOf(on, off)).to.deep.equal([{ actor: 'agt-a', change: 'actor_disabled', values: [], widening: false }]);
    expect(changesOf(off, on)).to.deep.equal([{ actor: 'agt-a', change: 'actor_enabled', values: [], widening: true }]);
  });

  it('reports a raised max ttl as widening, with both bounds', () => {
    const before = registryDocument([actorEntry('agt-a')]);
    const after = registryDocument([actorEntry('agt-a', { ttl: { default: '1h', min: '5m', max: '12h' } })]);
    expect(changesOf(before, after)).to.deep.equal([{ actor: 'agt-a', change: 'ttl_max_raised', values: ['8h', '12h'], widening: true }]);
    expect(changesOf(after, before)).to.deep.equal([{ actor: 'agt-a', change: 'ttl_max_lowered', values: ['12h', '8h'], widening: false }]);
  });

  it('reports a renamed actor as one removed and one added', () => {
    const before = registryDocument([actorEntry('agt-old')]);
    const after = registryDocument([actorEntry('agt-new')]);
    expect(changesOf(before, after)).to.deep.equal([
      { actor: 'agt-new', change: 'actor_added', values: ['agt-new', 'iam:agt-new'], widening: true },
      { actor: 'agt-old', change: 'actor_removed', values: ['agt-old', 'iam:agt-old'], widening: false },
    ]);
  });

  it('does not count an added actor that is disabled as widening', () => {
    const before = registryDocument([actorEntry('agt-a')]);
    const after = registryDocument([actorEntry('agt-a'), actorEntry('agt-b', { disabled: true })]);
    expect(changesOf(before, after)).to.deep.equal([{ actor: 'agt-b', change: 'actor_added', values: ['agt-b', 'iam:agt-b'], widening: false }]);
  });

  it('reports principals, actions, min and default ttl and type, in the documented order', () => {
    const before = registryDocument([actorEntry('agt-a', { principals: ['agt-a', 'old'] })]);
    const after = registryDocument([actorEntry('agt-a', {
      type: 'service', actions: ['sign', 'renew'], principals: ['agt-a', 'new'], ttl: { default: '2h', min: '1m', max: '8h' },
    })]);
    expect(changesOf(before, after).map((c) => [c.change, c.values, c.widening])).to.deep.equal([
      ['actions_added', ['renew'], true],
      ['principals_added', ['new'], true],
      ['principals_removed', ['old'], false],
      ['ttl_min_lowered', ['5m', '1m'], true],
      ['ttl_default_raised', ['1h', '2h'], true],
      ['type_changed', ['agent', 'service'], false],
    ]);
  });

  it('sees no change when a subject keeps access through another path, or the file is only reordered', () => {
    const before = registryDocument([backup], [...groups, member('backup-operators', 'iam:carol')]);
    const after = registryDocument([backup], [...groups.filter((rel) => rel.subject !== 'group:oncall#member'), member('backup-operators', 'iam:carol')].reverse());
    expect(changesOf(before, after)).to.deep.equal([]);
  });

  it('lists changes by actor name, then kind, whatever the document order', () => {
    const before = registryDocument([actorEntry('agt-b'), actorEntry('agt-a')]);
    const after = registryDocument([
      actorEntry('agt-a', { disabled: true }),
      actorEntry('agt-b', { ttl: { default: '1h', min: '5m', max: '9h' }, disabled: true }),
    ]);
    expect(changesOf(before, after).map((c) => `${c.actor} ${c.change}`)).to.deep.equal([
      'agt-a actor_disabled', 'agt-b actor_disabled', 'agt-b ttl_max_raised',
    ]);
  });

  it("lists an actor's certificate changes in the documented kind order too", () => {
    const before = registryDocument([actorEntry('agt-a', { certificate: {
      types: ['user'], extensions: { allowed: ['permit-pty', 'permit-X11-forwarding'], default: ['permit-pty'] },
      critical_options: { force_command: '/usr/bin/backup', source_address: ['10.0.0.0/24', '192.168.1.0/24'] },
    } })]);
    const after = registryDocument([actorEntry('agt-a', { certificate: {
      types: ['host'], extensions: { allowed: ['permit-pty', 'permit-agent-forwarding'], default: ['permit-agent-forwarding'] },
      critical_options: { force_command: '/usr/bin/restore', source_address: ['10.0.0.0/16'] },
    } })]);
    expect(changesOf(before, after).map((c) => c.change)).to.deep.equal([
      'cert_types_added', 'cert_types_removed', 'extensions_added', 'extensions_removed',
      'default_extensions_added', 'default_extensions_removed', 'force_command_changed',
      'source_address_widened', 'source_address_narrowed',
    ]);
  });

  it('refuses an invalid document with every error', () => {
    expect(() => loadAccess(text(registryDocument([actorEntry('agt-a', { allowed_subject: [] })]))))
      .to.throw('registry is invalid').with.property('details').that.deep.includes({ path: 'actors[0].allowed_subject', message: 'unknown key' });
  });

  describe('properties', () => {
    const ACTORS = ['agt-a', 'agt-b', 'atm-c'];
    const SUBJECTS = ['agt-a', 'iam:u1', 'iam:u2', 'iam:u3'];
    const GROUPS = ['g1', 'g2', 'g3'];
    const PRINCIPALS = ['p1', 'p2', 'p3'];
    const TTLS = [60, 300, 3600, 14400, 28800];

    const subset = <T>(values: readonly T[]) => fc.subarray([...values]);
    // A userset may only name a group below it, so nesting never cycles; every group has a member.
    const groupMembers = fc.tuple(...GROUPS.map((group, i) => fc.tuple(
      fc.subarray(SUBJECTS, { minLength: 1 }),
      subset(GROUPS.slice(i + 1).map((g) => `group:${g}#member`)),
    ).map(([subjects, nested]) => [...subjects, ...nested].map((s) => member(group, s)))));
    const grant = fc.subarray([...SUBJECTS, ...GROUPS.map((g) => `group:${g}#member`)]);
    const actor = (name: string) => fc.record({
      principals: fc.subarray(PRINCIPALS, { minLength: 1 }),
      actions: fc.constantFrom(['sign'], ['sign', 'renew'], ['renew']),
      ttl: fc.uniqueArray(fc.constantFrom(...TTLS), { minLength: 3, maxLength: 3 }).map((t) => t.sort((x, y) => x - y)),
      allowed: grant,
      signers: grant,
      disabled: fc.boolean(),
    }).map((a) => ({
      entry: actorEntry(name, {
        principals: a.principals, actions: a.actions, allowed_subjects: a.allowed, disabled: a.disabled,
        ttl: { min: a.ttl[0], default: a.ttl[1], max: a.ttl[2] },
      }),
      signers: a.signers.map((s) => signer(name, s)),
    }));
    type Actors = { entry: Json; signers: Json[] }[];
    const actors = fc.subarray(ACTORS, { minLength: 1 }).chain((names) => fc.tuple(...names.map(actor)));
    const documentOf = (list: Actors, members: Json[][]) =>
      registryDocument(list.map((a) => a.entry), [...members.flat(), ...list.flatMap((a) => a.signers)]);
    const registry = fc.tuple(actors, groupMembers).map(([list, members]) => documentOf(list, members));
    // Independent registries change much at once; near ones change only the groups, or one actor,
    // so that a single narrowing (or a widening the diff must not miss) is often all there is.
    const pair = fc.oneof(
      fc.tuple(registry, registry),
      fc.tuple(actors, groupMembers, groupMembers).map(([list, a, b]) => [documentOf(list, a), documentOf(list, b)] as const),
      fc.tuple(actors, groupMembers, fc.nat(), fc.constantFrom(...ACTORS).chain(actor)).map(([list, members, at, replacement]) => {
        const i = at % list.length;
        const name = list[i]!.entry.name as string;
        const renamed = { entry: { ...replacement.entry, name }, signers: replacement.signers.map((rel) => ({ ...rel, object: `actor:${name}` })) };
        return [documentOf(list, members), documentOf(list.map((a, j) => (j === i ? renamed : a)), members)] as const;
      }),
    );

    /** Every request over the small universe: each actor (and one unknown), subject, action, principal choice and ttl. */
    const requests: CheckRequest[] = [];
    for (const resource of [...ACTORS, 'agt-unknown']) {
      for (const subject of SUBJECTS) {
        for (const action of ['sign', 'renew']) {
          for (const principals of [undefined, ['p1'], ['p2', 'p3']]) {
            for (const ttl of [undefined, ...TTLS]) {
              requests.push({
                subject: { id: subject }, action, resource: { type: 'ssh_actor', id: resource },
                context: { ...(ttl === undefined ? {} : { ttl }), ...(principals ? { principals } : {}) },
              });
            }
          }
        }
      }
    }

    it('lists the changes by actor name, then in the documented kind order', () => {
      const rank = (change: AccessChange) => CHANGE_KINDS.indexOf(change.change);
      fc.assert(fc.property(pair, ([before, after]) => {
        const { changes } = diffOf(before, after);
        for (let i = 1; i < changes.length; i++) {
          const [a, b] = [changes[i - 1]!, changes[i]!];
          expect(a.actor < b.actor || (a.actor === b.actor && rank(a) < rank(b)), `${a.actor} ${a.change} before ${b.actor} ${b.change}`).to.equal(true);
        }
      }), { numRuns: 200 });
    });

    it('finds nothing between a registry and itself', () => {
      fc.assert(fc.property(registry, (document) => {
        expect(diffOf(document, document)).to.include({ widening: false }).and.to.have.property('changes').that.is.empty;
      }));
    });

    it('never reports as not widening a change that lets a denied request through, judged by the engine', () => {
      let checkedActors = 0;
      fc.assert(fc.property(pair, ([before, after]) => {
        const diff = diffOf(before, after);
        const old = loadRegistry(text(before));
        const now = loadRegistry(text(after));
        const widened = new Set(diff.changes.filter((c) => c.widening).map((c) => c.actor));
        const changed = new Set(diff.changes.map((c) => c.actor));
        for (const request of requests) {
          if (widened.has(request.resource.id)) continue;
          if (changed.has(request.resource.id)) checkedActors += 1;
          if (!decide(old, request).allow && decide(now, request).allow) {
            throw new Error(`${JSON.stringify(request)} became allowed, yet the diff for its actor says nothing widens: ${JSON.stringify(diff.changes)}`);
          }
        }
        expect(diff.widening).to.equal(widened.size > 0);
      }), { numRuns: 300 });
      // The property is only worth something if changed-but-narrowing actors came up.
      expect(checkedActors).to.be.above(1000);
    });
  });
});
