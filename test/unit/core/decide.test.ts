import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { parseCheckRequest } from '../../../src/core/check-request.js';
import { decide } from '../../../src/core/decide.js';
import { DENY_REASONS } from '../../../src/core/types.js';
import type { Decision } from '../../../src/core/types.js';
import { loadRegistry } from '../../../src/registry/load.js';
import type { CompiledRegistry } from '../../../src/registry/compiled-registry.js';
import { actorEntry, member, registryDocument, signer, text } from '../../fixtures/registry.js';
import type { Json } from '../../fixtures/registry.js';

const ACTORS = [
  actorEntry('agt-a', { principals: ['agt-a', 'deploy'] }),
  actorEntry('agt-off', { principals: ['agt-a', 'deploy'], allowed_subjects: ['agt-a'], disabled: true }),
  actorEntry('atm-b', { type: 'automation', allowed_subjects: ['atm-b'] }),
  actorEntry('agt-nomin', { ttl: { default: '1m', max: '1h' } }),
];
const RELATIONSHIPS = [
  member('ops', 'iam:alice'),
  member('ops', 'group:sre#member'),
  member('sre', 'iam:carol'),
  signer('atm-b', 'group:ops#member'),
];
let registry: CompiledRegistry;

function request(overrides: { subject?: string; action?: string; type?: string; id?: string; context?: Json } = {}): Json {
  return {
    subject: { id: overrides.subject ?? 'agt-a' },
    action: overrides.action ?? 'sign',
    resource: { type: overrides.type ?? 'ssh_actor', id: overrides.id ?? 'agt-a' },
    ...(overrides.context ? { context: overrides.context } : {}),
  };
}

function check(body: Json, options: { explain?: boolean; against?: CompiledRegistry } = {}): Decision {
  return decide(options.against ?? registry, parseCheckRequest(body), { explain: options.explain ?? false });
}

/** A grant for a request and actor that use no certificate fields: the contract's section 14 defaults. */
function v1Grant(ttl: number, principals: string[], id: string): Json {
  return { ttl_seconds: ttl, principals, cert_type: 'user', extensions: ['permit-pty'], critical_options: {}, key_id: id };
}

describe('the ssh-sign/v1 policy', () => {
  // Loaded in the suite's `before`, not at import nor in a root hook: a mutant in the load path
  // is then tested by these tests (test/helpers/stryker-mocha-12.cjs credits them with the hook).
  before(() => {
    registry = loadRegistry(text(registryDocument(ACTORS, RELATIONSHIPS)));
  });

  it('allows a registered subject and grants the requested ttl and principals', () => {
    const decision = check(request({ context: { ttl: '8h', principals: ['agt-a'] } }));
    expect(decision).to.include({ allow: true, reason: 'allowed', policy: 'ssh-sign/v1', registry_revision: registry.revision });
    expect(decision.grant).to.deep.equal(v1Grant(8 * 3600, ['agt-a'], decision.decision_id));
    expect(decision).not.to.have.property('message');
  });

  it('allows an iam: subject listed in allowed_subjects', () => {
    expect(check(request({ subject: 'iam:agt-a' })).allow).to.equal(true);
  });

  it('grants the actor default ttl and all its principals when the context is absent', () => {
    const decision = check(request());
    expect(decision.grant).to.deep.equal(v1Grant(3600, ['agt-a', 'deploy'], decision.decision_id));
  });

  it('sorts and de-duplicates requested principals in the grant', () => {
    const decision = check(request({ context: { principals: ['deploy', 'agt-a', 'deploy'] } }));
    expect(decision.grant?.principals).to.deep.equal(['agt-a', 'deploy']);
  });

  describe('ttl bounds', () => {
    const cases: [string, number | string, boolean][] = [
      ['at the max', 8 * 3600, true],
      ['one second above the max', 8 * 3600 + 1, false],
      ['one second below the max', 8 * 3600 - 1, true],
      ['at the min', 300, true],
      ['one second below the min', 299, false],
      ['one second above the min', 301, true],
      ['far above the max', '999h', false],
    ];
    for (const [label, ttl, allowed] of cases) {
      it(`${allowed ? 'allows' : 'denies'} a ttl ${label}`, () => {
        const decision = check(request({ context: { ttl } }));
        expect(decision.allow).to.equal(allowed);
        if (!allowed) expect(decision.reason).to.equal('ttl_out_of_bounds');
      });
    }

    it('says by how much a ttl is out of bounds', () => {
      expect(check(request({ context: { ttl: '999h' } })).message).to.equal('requested ttl 999h exceeds max 8h');
      expect(check(request({ context: { ttl: '4m' } })).message).to.equal('requested ttl 4m is below min 5m');
    });

    it('uses a one-second minimum when the actor sets none', () => {
      expect(check(request({ id: 'agt-nomin', subject: 'agt-nomin', context: { ttl: 1 } })).allow).to.equal(true);
    });
  });

  describe('relationships', () => {
    it('allows a direct member of a group that signs for the actor, and shows the path', () => {
      const decision = check(request({ id: 'atm-b', subject: 'iam:alice' }), { explain: true });
      expect(decision.allow).to.equal(true);
      const subjectRule = decision.trace?.find((entry) => entry.rule === 'subject_allowed');
      expect(subjectRule?.path).to.deep.equal(['actor:atm-b#signer@group:ops#member', 'group:ops#member@iam:alice']);
    });

    it('allows a member of a nested group through the userset chain', () => {
      const decision = check(request({ id: 'atm-b', subject: 'iam:carol' }), { explain: true });
      expect(decision.allow).to.equal(true);
      expect(decision.trace?.find((entry) => entry.rule === 'subject_allowed')?.path).to.deep.equal([
        'actor:atm-b#signer@group:ops#member',
        'group:ops#member@group:sre#member',
        'group:sre#member@iam:carol',
      ]);
    });

    it('denies a group member on an actor the group does not sign for', () => {
      expect(check(request({ subject: 'iam:carol' })).reason).to.equal('subject_not_allowed');
    });
  });

  describe('reasons', () => {
    // Each entry breaks one rule; applying entries i..n together must report reason i, which
    // proves both that each rule fires and that the contract's order is kept.
    const breakers: [string, (body: Json) => void][] = [
      ['unsupported_resource_type', (body) => { (body.resource as Json).type = 'k8s_secret'; }],
      ['unknown_actor_resource', (body) => { (body.resource as Json).id = 'agt-missing'; }],
      ['actor_disabled', (body) => { (body.resource as Json).id = 'agt-off'; }],
      ['action_not_allowed', (body) => { body.action = 'revoke'; }],
      ['subject_not_allowed', (body) => { body.subject = { id: 'iam:mallory' }; }],
      ['principal_not_allowed', (body) => { body.context = { ...(body.context as Json), principals: ['root'] }; }],
      ['cert_type_not_allowed', (body) => { body.context = { ...(body.context as Json), cert_type: 'host' }; }],
      ['extension_not_allowed', (body) => { body.context = { ...(body.context as Json), extensions: ['permit-agent-forwarding'] }; }],
      ['critical_option_not_allowed', (body) => { body.context = { ...(body.context as Json), critical_options: { force_command: '/bin/true' } }; }],
      ['ttl_out_of_bounds', (body) => { body.context = { ...(body.context as Json), ttl: '999h' }; }],
    ];

    it('covers every deny reason of the contract, in its order', () => {
      expect(breakers.map(([reason]) => reason)).to.deep.equal([...DENY_REASONS]);
    });

    breakers.forEach(([reason], index) => {
      it(`reports ${reason} alone and ahead of every later failure`, () => {
        const alone = request();
        breakers[index]![1](alone);
        expect(check(alone)).to.include({ allow: false, reason });

        const together = request();
        for (let j = breakers.length - 1; j >= index; j -= 1) breakers[j]![1](together);
        const decision = check(together);
        expect(decision).to.include({ allow: false, reason });
        expect(decision.message).to.be.a('string').and.not.be.empty;
        expect(decision).not.to.have.property('grant');
      });
    });

    it('explains every rule in order even past the first failure', () => {
      const body = request({ subject: 'iam:mallory', context: { ttl: '999h', principals: ['root'] } });
      const decision = check(body, { explain: true });
      expect(decision.reason).to.equal('subject_not_allowed');
      // Every entry names the reason its rule denies with, as v1 callers read it; `result` says whether it did.
      expect(decision.trace?.map((entry) => [entry.rule, entry.result, entry.reason])).to.deep.equal([
        ['resource_type_supported', 'pass', 'unsupported_resource_type'],
        ['actor_registered', 'pass', 'unknown_actor_resource'],
        ['actor_enabled', 'pass', 'actor_disabled'],
        ['action_allowed', 'pass', 'action_not_allowed'],
        ['subject_allowed', 'fail', 'subject_not_allowed'],
        ['principals_allowed', 'fail', 'principal_not_allowed'],
        ['cert_type_allowed', 'pass', 'cert_type_not_allowed'],
        ['extensions_allowed', 'pass', 'extension_not_allowed'],
        ['critical_options_allowed', 'pass', 'critical_option_not_allowed'],
        ['ttl_within_bounds', 'fail', 'ttl_out_of_bounds'],
      ]);
      expect(decision.trace!.filter((entry) => entry.result === 'pass').every((entry) => !('message' in entry))).to.equal(true);
    });

    it('skips the actor rules in the trace when the actor is unknown', () => {
      const decision = check(request({ id: 'agt-missing' }), { explain: true });
      expect(decision.trace?.map((entry) => entry.result)).to.deep.equal(['pass', 'fail', 'skip', 'skip', 'skip', 'skip', 'skip', 'skip', 'skip', 'skip']);
    });

    it('leaves the trace out unless asked', () => {
      expect(check(request())).not.to.have.property('trace');
    });
  });

  describe('decision ids', () => {
    const base = request({ context: { ttl: '1h', principals: ['agt-a'] } });

    it('are decision: followed by 16 lower-case hex characters', () => {
      expect(check(base).decision_id).to.match(/^decision:[0-9a-f]{16}$/);
    });

    it('are the SHA-256 of the canonical policy, revision and normalized request', () => {
      // Written out by hand here, keys in sorted order, so the test does not reuse the code's canonicalizer.
      const canonical = `{"policy":"ssh-sign/v1","request":{"action":"sign","principals":["agt-a"],"resource":{"id":"agt-a","type":"ssh_actor"},"subject":"agt-a","ttl_seconds":3600},"revision":"${registry.revision}"}`;
      const expected = `decision:${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}`;
      expect(check(base).decision_id).to.equal(expected);
    });

    it('are the same for 1h and 3600, for defaults spelled out, and whatever the metadata', () => {
      const id = check(base).decision_id;
      expect(check(request({ context: { ttl: 3600, principals: ['agt-a'] } })).decision_id).to.equal(id);
      expect(check(request({ context: { ttl: '60m', principals: ['agt-a', 'agt-a'], metadata: { ticket: 'X-1' } } })).decision_id).to.equal(id);
      expect(check(request()).decision_id).to.equal(check(request({ context: { ttl: '1h', principals: ['deploy', 'agt-a'] } })).decision_id);
    });

    it('change with every decision input', () => {
      const variants = [
        request({ subject: 'iam:agt-a', context: { ttl: '1h', principals: ['agt-a'] } }),
        request({ action: 'revoke', context: { ttl: '1h', principals: ['agt-a'] } }),
        request({ id: 'agt-off', context: { ttl: '1h', principals: ['agt-a'] } }),
        request({ type: 'ssh_host', context: { ttl: '1h', principals: ['agt-a'] } }),
        request({ context: { ttl: '2h', principals: ['agt-a'] } }),
        request({ context: { ttl: '1h', principals: ['agt-a', 'deploy'] } }),
      ];
      const ids = new Set([check(base).decision_id, ...variants.map((body) => check(body).decision_id)]);
      expect(ids.size).to.equal(variants.length + 1);
    });

    it('hash exactly the canonical JSON of their inputs, whatever the caller\'s strings hold', async () => {
      const { default: fc } = await import('fast-check');
      const { canonicalJson } = await import('../../helpers/canonical-oracle.js');
      const { canonicalDecisionInput } = await import('../../../src/core/decision-id.js');
      // Plain ASCII (the fast path), and strings with quotes, escapes, controls and beyond ASCII.
      const tricky = fc.constantFrom('a', 'Z', '0', ' ', '~', '"', '\\', '/', '\u0000', '\n', '\u001f', '\u007f', 'é', '\u2028', '\ud800', '😀');
      const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.string({ unit: tricky, maxLength: 20 }), fc.string({ maxLength: 20 }));
      const { principalText, revisionText } = await import('../../helpers/grants.js');
      // Principals, the policy and the revision are plain by construction (src/core/canonical-json.ts).
      const normalized = fc.record({
        subject: text, action: text,
        resource: fc.record({ type: text, id: text }),
        ttl_seconds: fc.option(fc.integer({ min: 1, max: 315_360_000 }), { nil: null }),
        principals: fc.uniqueArray(principalText, { maxLength: 4 }).map((p) => p.sort()),
      });
      fc.assert(fc.property(fc.constant('ssh-sign/v1'), revisionText, normalized, (policy, revision, request) => {
        expect(canonicalDecisionInput(policy, revision, request)).to.equal(canonicalJson({ policy, revision, request }));
      }), { numRuns: 1000 });
    });

    it('hash the canonical JSON of their inputs with any certificate fields too, as the exported decisionId', async () => {
      const { default: fc } = await import('fast-check');
      const { canonicalJson } = await import('../../helpers/canonical-oracle.js');
      const { decisionId } = await import('../../../src/core/decision-id.js');
      const name = fc.string({ maxLength: 12 });
      const certificateFields = fc.record({
        cert_type: fc.constantFrom('user' as const, 'host' as const),
        extensions: fc.uniqueArray(name, { maxLength: 3 }),
        critical_options: fc.record({ force_command: name, source_address: fc.array(name, { minLength: 1, maxLength: 2 }) }, { requiredKeys: [] }),
      }, { requiredKeys: [] });
      const { principalText, revisionText } = await import('../../helpers/grants.js');
      // Principals, the policy and the revision are plain by construction (src/core/canonical-json.ts).
      const normalized = fc.record({
        subject: name, action: name, resource: fc.record({ type: name, id: name }),
        ttl_seconds: fc.option(fc.nat(), { nil: null }), principals: fc.array(principalText, { maxLength: 3 }),
      });
      fc.assert(fc.property(fc.constant('ssh-sign/v1'), revisionText, normalized, certificateFields, (policy, revision, v1, fields) => {
        const request = { ...v1, ...fields };
        const expected = createHash('sha256').update(canonicalJson({ policy, revision, request })).digest('hex').slice(0, 16);
        expect(decisionId(policy, revision, request)).to.equal(`decision:${expected}`);
      }), { numRuns: 500 });
    });

    it('change with the registry revision', () => {
      const other = loadRegistry(text(registryDocument([...ACTORS, actorEntry('agt-extra')], RELATIONSHIPS)));
      expect(other.revision).not.to.equal(registry.revision);
      expect(check(base, { against: other }).decision_id).not.to.equal(check(base).decision_id);
    });
  });
});
