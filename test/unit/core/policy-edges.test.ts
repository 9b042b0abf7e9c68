import { expect } from 'chai';
import { decide } from '../../../src/core/decide.js';
import { DEFAULT_CERTIFICATE_PROFILE } from '../../../src/core/certificate.js';
import { parseDuration } from '../../../src/core/duration.js';
import { FlexAuthError, formatDetail, InvalidRequestError, RegistryValidationError } from '../../../src/core/errors.js';
import type { Actor, CheckRequest, PolicyRegistry } from '../../../src/core/types.js';
import type { CompiledRegistry } from '../../../src/registry/compiled-registry.js';
import { loadRegistry } from '../../../src/registry/load.js';
import { actorEntry, member, registryDocument, signer, text } from '../../fixtures/registry.js';
import { sha256Hex } from '../../helpers/canonical-oracle.js';

function request(overrides: Partial<{ subject: string; type: string; id: string; principals: string[]; ttl: number }> = {}): CheckRequest {
  return {
    subject: { id: overrides.subject ?? 'iam:alice' },
    action: 'sign',
    resource: { type: overrides.type ?? 'ssh_actor', id: overrides.id ?? 'agt-a' },
    context: {
      ...(overrides.principals ? { principals: overrides.principals } : {}),
      ...(overrides.ttl ? { ttl: overrides.ttl } : {}),
    },
  };
}

/** A registry of one actor that lets anyone sign: the rules after the subject rule decide. */
function openRegistry(actor: Partial<Actor>): PolicyRegistry {
  const full: Actor = {
    name: 'agt-a', type: 'agent', actions: new Set(['sign']), principals: ['agt-a'], ttl: { default: 3600, min: 1, max: 7200 }, disabled: false,
    certificate: DEFAULT_CERTIFICATE_PROFILE, ...actor,
  };
  return {
    revision: 'sha256:test',
    actor: (name) => (name === full.name ? full : undefined),
    isSigner: () => true,
    signerPath: () => ['allowed_subjects: iam:alice'],
  };
}

describe('the ssh-sign/v1 policy, at its edges', () => {
  // Built inside each test, not in a hook: mutation testing credits a test only with the code it runs itself.
  const registry = (): CompiledRegistry => loadRegistry(text(registryDocument(
      [
        actorEntry('agt-a', { principals: ['agt-a', 'deploy', 'ops'], allowed_subjects: [] }),
        actorEntry('agt-listed'),
      ],
      [member('ops', 'iam:alice'), member('ops', 'group:sre#member'), member('sre', 'iam:carol'), signer('agt-a', 'group:ops#member')],
    )));

  it('never allows with no principals: an actor without any is denied, not granted an empty list', () => {
    const decision = decide(openRegistry({ principals: [] }), request());
    expect(decision).to.include({ allow: false, reason: 'principal_not_allowed', message: 'actor agt-a has no principals to grant' });
    expect(decision).not.to.have.property('grant');
    expect(decide(openRegistry({}), request({ principals: [] }))).to.include({ allow: false, reason: 'principal_not_allowed' });
  });

  it('names the action refused and the actions the actor allows', () => {
    const decision = decide(openRegistry({ actions: new Set(['sign', 'audit']) }), { ...request(), action: 'revoke' });
    expect(decision).to.include({ allow: false, reason: 'action_not_allowed', message: 'action revoke is not allowed for actor agt-a (allowed: sign, audit)' });
  });

  it('names exactly the refused principals, in order, when some are not allowed', () => {
    const decision = decide(registry(), request({ principals: ['agt-a', 'root', 'deploy', 'admin'] }));
    expect(decision).to.include({ allow: false, reason: 'principal_not_allowed', message: 'principals not allowed for actor agt-a: admin, root' });
  });

  it('allows an actor granted only through groups on the ordinary (unexplained) check, nested groups included', () => {
    for (const subject of ['iam:alice', 'iam:carol']) {
      const decision = decide(registry(), request({ subject }));
      expect(decision, subject).to.include({ allow: true, reason: 'allowed' });
      expect(decision).not.to.have.property('trace');
    }
    expect(decide(registry(), request({ subject: 'iam:mallory' }))).to.include({ allow: false, reason: 'subject_not_allowed' });
    expect(decide(registry(), request({ subject: 'iam:alice', id: 'agt-listed' }))).to.include({ allow: false, reason: 'subject_not_allowed' });
  });

  it('shows a grant through allowed_subjects as such in the trace, and a group grant as its tuples', () => {
    const listed = decide(registry(), request({ subject: 'agt-listed', id: 'agt-listed' }), { explain: true });
    expect(listed.trace?.find((entry) => entry.rule === 'subject_allowed')).to.deep.equal({ rule: 'subject_allowed', reason: 'subject_not_allowed', result: 'pass', path: ['allowed_subjects: agt-listed'] });
    const nested = decide(registry(), request({ subject: 'iam:carol' }), { explain: true });
    expect(nested.trace?.find((entry) => entry.rule === 'subject_allowed')?.path).to.deep.equal([
      'actor:agt-a#signer@group:ops#member', 'group:ops#member@group:sre#member', 'group:sre#member@iam:carol',
    ]);
  });

  it('denies an unsupported resource type first, traces every other rule as skipped or passed, and still gives an id', () => {
    const decision = decide(registry(), request({ type: 'ssh_host' }), { explain: true });
    expect(decision).to.include({ allow: false, reason: 'unsupported_resource_type', policy: 'ssh-sign/v1' });
    expect(decision.message).to.equal('resource type ssh_host is not supported by ssh-sign/v1 (expected ssh_actor)');
    expect(decision.decision_id).to.match(/^decision:[0-9a-f]{16}$/);
    expect(decision.decision_id).not.to.equal(decide(registry(), request()).decision_id);
    expect(decision.trace?.map((entry) => [entry.rule, entry.result, entry.message])).to.deep.equal([
      ['resource_type_supported', 'fail', 'resource type ssh_host is not supported by ssh-sign/v1 (expected ssh_actor)'],
      ['actor_registered', 'skip', 'resource is not an ssh_actor'],
      ['actor_enabled', 'skip', 'no registered actor to evaluate'],
      ['action_allowed', 'skip', 'no registered actor to evaluate'],
      ['subject_allowed', 'skip', 'no registered actor to evaluate'],
      ['principals_allowed', 'skip', 'no registered actor to evaluate'],
      ['cert_type_allowed', 'skip', 'no registered actor to evaluate'],
      ['extensions_allowed', 'skip', 'no registered actor to evaluate'],
      ['critical_options_allowed', 'skip', 'no registered actor to evaluate'],
      ['ttl_within_bounds', 'skip', 'no registered actor to evaluate'],
    ]);
  });

  it('makes the id of a request for an unknown actor from the request alone: no principals, no ttl', () => {
    const decision = decide(registry(), request({ id: 'agt-missing' }));
    const canonical = `{"policy":"ssh-sign/v1","request":{"action":"sign","principals":[],"resource":{"id":"agt-missing","type":"ssh_actor"},"subject":"iam:alice","ttl_seconds":null},"revision":"${registry().revision}"}`;
    expect(decision).to.include({ allow: false, reason: 'unknown_actor_resource', decision_id: `decision:${sha256Hex(canonical).slice(0, 16)}` });
  });

  it('denies a ttl outside the bounds and allows one on each bound', () => {
    const bounds = openRegistry({ ttl: { default: 60, min: 60, max: 60 } });
    expect(decide(bounds, request({ ttl: 60 }))).to.include({ allow: true });
    expect(decide(bounds, request({ ttl: 61 }))).to.include({ reason: 'ttl_out_of_bounds', message: 'requested ttl 1m1s exceeds max 1m' });
    expect(decide(bounds, request({ ttl: 59 }))).to.include({ reason: 'ttl_out_of_bounds', message: 'requested ttl 59s is below min 1m' });
  });
});

describe('errors', () => {
  it('render a detail as path: message', () => {
    expect(formatDetail({ path: 'actors[3].ttl.max', message: 'must be >= ttl.default' })).to.equal('actors[3].ttl.max: must be >= ttl.default');
  });

  it('show their message to callers for 4xx and hide it for 5xx', () => {
    expect(new FlexAuthError('internal', 500, 'stack details').expose).to.equal(false);
    expect(new FlexAuthError('unavailable', 503, 'x').expose).to.equal(false);
    expect(new FlexAuthError('bad', 499, 'x').expose).to.equal(true);
    expect(new InvalidRequestError('bad body')).to.include({ status: 400, code: 'invalid_request', expose: true });
    expect(new RegistryValidationError([{ path: 'a', message: 'b' }])).to.include({ status: 400, code: 'invalid_registry', message: 'registry is invalid: 1 error' });
  });
});

describe('the parsed-duration cache', () => {
  it('keeps at most 1024 strings, then starts afresh', () => {
    let fresh = 0;
    const newString = () => `${++fresh}s`.padStart(12, '0');
    // Other tests have filled it to some unknown size: add strings until it starts afresh.
    let probe = parseDuration('7h7m7s');
    for (let i = 0; i < 2048 && parseDuration('7h7m7s') === probe; i++) parseDuration(newString());
    // It now holds the last new string and the probe, parsed again.
    probe = parseDuration('7h7m7s');
    for (let i = 0; i < 1022; i++) parseDuration(newString());
    expect(parseDuration('7h7m7s'), 'kept while the cache holds 1024 strings').to.equal(probe);
    parseDuration(newString());
    const again = parseDuration('7h7m7s');
    expect(again, 'dropped by the 1025th string').not.to.equal(probe);
    expect(again).to.deep.equal({ ok: true, seconds: 7 * 3600 + 7 * 60 + 7 });
  });
});
