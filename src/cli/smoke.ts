import { parseArgs } from 'node:util';
import { SSH_ACTOR } from '../core/patterns.js';
import { DENY_REASONS } from '../core/types.js';
import type { CheckOutcome } from '../client/flex-auth-client.js';
import { EXIT, UsageError } from './io.js';
import { liveClient } from './live-client.js';

export const SMOKE_USAGE = `flex-auth smoke --url URL [--actor agt-state-hub-bridge] [--subject ID] [--timeout-ms 2000]
                [--token-file PATH] [--diagnostic-url URL] [--expect-revision REV] [--expect-deny ACTOR[:REASON]]...

  The operator's pre-flight against a running flex-auth: /healthz, the registry source and
  revision it serves (from /v1/registry), one allow for the actor (the subject defaults to
  the actor's name), a ttl_out_of_bounds denial (ttl 999h) and an unknown_actor_resource
  denial. Prints non-secret evidence (decision ids, reasons, actor names); exit 0 only if
  every expectation held, 1 if one did not, 2 on a usage error.

  --expect-revision REV        fail unless flex-auth serves this registry revision
  --expect-deny ACTOR[:REASON] also expect a denial for ACTOR signed by its own name, with
                               REASON if given (actor_disabled after disabling it); repeatable
  --token-file PATH            a file whose first token line is sent as the bearer token, for
                               a flex-auth that requires one; read again for every call
  --diagnostic-url URL         where /healthz is, for a flex-auth with --diagnostic-port
                               (default: --url)`;

/** Far above any sane certificate lifetime, so a registry that allows it is misconfigured. */
const TOO_LONG_TTL = '999h';
/** An actor name ops-warden's inventory never uses. */
const UNREGISTERED_ACTOR = 'agt-flex-auth-smoke-unregistered';

interface Step {
  readonly name: string;
  readonly ok: boolean;
  readonly evidence: string;
}

interface ExpectedDeny {
  readonly actor: string;
  readonly reason: string | undefined;
}

function expectedDeny(value: string): ExpectedDeny {
  const [actor = '', reason, ...rest] = value.split(':');
  if (actor === '' || rest.length > 0 || (reason !== undefined && !(DENY_REASONS as readonly string[]).includes(reason))) {
    throw new UsageError(`--expect-deny must be ACTOR or ACTOR:REASON, REASON one of ${DENY_REASONS.join(', ')} (got ${value})`);
  }
  return { actor, reason };
}

function describe(outcome: CheckOutcome): string {
  const id = outcome.allow ? outcome.decisionId : outcome.decisionId ?? 'no decision id';
  return `reason=${outcome.reason} ${id}${outcome.allow ? '' : ` (${outcome.message})`}`;
}

export async function smoke(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      url: { type: 'string' },
      actor: { type: 'string', default: 'agt-state-hub-bridge' },
      subject: { type: 'string' },
      'timeout-ms': { type: 'string', default: '2000' },
      'token-file': { type: 'string' },
      'diagnostic-url': { type: 'string' },
      'expect-revision': { type: 'string' },
      'expect-deny': { type: 'string', multiple: true, default: [] },
    },
  });
  if (!values.url) throw new UsageError('--url URL is required');
  const actor = values.actor;
  const subject = values.subject ?? actor;
  const denials = values['expect-deny'].map(expectedDeny);
  const client = await liveClient(values.url, values['timeout-ms'], values['token-file']);
  const diagnosticUrl = values['diagnostic-url'];
  if (diagnosticUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(diagnosticUrl)) throw new UsageError(`--diagnostic-url must be an http(s) URL (got ${diagnosticUrl})`);
  const diagnostic = diagnosticUrl === undefined ? client : await liveClient(diagnosticUrl, values['timeout-ms'], undefined);
  const request = (resource: string, ttl?: string) => ({
    subject: { id: subject }, action: 'sign', resource: { type: SSH_ACTOR, id: resource },
    ...(ttl ? { context: { ttl } } : {}),
  });

  const steps: Step[] = [];
  const health = await diagnostic.healthy();
  // A 404 from /healthz on the main port is most likely a server with --diagnostic-port, which moves it there.
  const hint = diagnosticUrl === undefined && health.detail === 'HTTP 404'
    ? ' (a flex-auth with --diagnostic-port serves /healthz on that port: pass --diagnostic-url, such as http://HOST:9090)'
    : '';
  steps.push({ name: 'healthz', ok: health.ok, evidence: `${health.detail}${hint}` });
  if (health.ok) {
    const registry = await client.registry();
    const expected = values['expect-revision'];
    steps.push({
      name: 'registry',
      ok: registry.ok && (expected === undefined || registry.revision === expected),
      evidence: !registry.ok ? registry.detail
        : `source=${registry.source} revision=${registry.revision}${expected === undefined || registry.revision === expected ? '' : ` (expected ${expected})`}`,
    });
    const allow = await client.check(request(actor), { requestId: 'flex-auth-smoke-allow' });
    steps.push({ name: `allow ${actor} for ${subject}`, ok: allow.allow, evidence: describe(allow) });
    const tooLong = await client.check(request(actor, TOO_LONG_TTL), { requestId: 'flex-auth-smoke-ttl' });
    steps.push({ name: `deny ${actor} ttl ${TOO_LONG_TTL}`, ok: !tooLong.allow && tooLong.reason === 'ttl_out_of_bounds', evidence: describe(tooLong) });
    const unknown = await client.check(request(UNREGISTERED_ACTOR), { requestId: 'flex-auth-smoke-unknown' });
    steps.push({ name: `deny ${UNREGISTERED_ACTOR}`, ok: !unknown.allow && unknown.reason === 'unknown_actor_resource', evidence: describe(unknown) });
    for (const [i, denial] of denials.entries()) {
      const outcome = await client.check({ ...request(denial.actor), subject: { id: denial.actor } }, { requestId: `flex-auth-smoke-deny-${i + 1}` });
      // Only a decision counts: a client-side failure (timeout, no token) proves nothing about the registry.
      const ok = !outcome.allow && outcome.decisionId !== undefined && (denial.reason === undefined || outcome.reason === denial.reason);
      steps.push({ name: `deny ${denial.actor}${denial.reason ? ` with ${denial.reason}` : ''}`, ok, evidence: describe(outcome) });
    }
  }

  for (const step of steps) process.stdout.write(`${step.ok ? 'ok  ' : 'FAIL'} ${step.name}: ${step.evidence}\n`);
  const passed = steps.length === 5 + denials.length && steps.every((step) => step.ok);
  process.stdout.write(passed ? `smoke passed against ${values.url}\n` : `smoke FAILED against ${values.url}\n`);
  return passed ? EXIT.ok : EXIT.negative;
}
