import { parseArgs } from 'node:util';
import { FlexAuthClient } from '../client/flex-auth-client.js';
import type { CheckOutcome } from '../client/flex-auth-client.js';
import { EXIT, readInput, UsageError } from './io.js';

export const SMOKE_USAGE = `flex-auth smoke --url URL [--actor agt-state-hub-bridge] [--subject ID] [--timeout-ms 2000] [--token-file PATH]

  The operator's pre-flight against a running flex-auth: /healthz, one allow for the actor
  (the subject defaults to the actor's name), a ttl_out_of_bounds denial (ttl 999h) and an
  unknown_actor_resource denial. Prints non-secret evidence (decision ids, reasons, actor
  names); exit 0 only if every expectation held. --token-file: a file whose first token line
  is sent as the bearer token, for a flex-auth that requires one.`;

/** Far above any sane certificate lifetime, so a registry that allows it is misconfigured. */
const TOO_LONG_TTL = '999h';
/** An actor name ops-warden's inventory never uses. */
const UNREGISTERED_ACTOR = 'agt-flex-auth-smoke-unregistered';

interface Step {
  readonly name: string;
  readonly ok: boolean;
  readonly evidence: string;
}

function firstToken(text: string): string {
  const token = text.split(/\r?\n/).map((line) => line.trim()).find((line) => line !== '' && !line.startsWith('#'));
  if (!token) throw new UsageError('--token-file has no token');
  return token;
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
    },
  });
  if (!values.url) throw new UsageError('--url URL is required');
  if (!/^https?:\/\/[^\s]+$/.test(values.url)) throw new UsageError(`--url must be an http(s) URL (got ${values.url})`);
  const timeoutMs = Number(values['timeout-ms']);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError('--timeout-ms must be a positive whole number');
  const actor = values.actor;
  const subject = values.subject ?? actor;
  const token = values['token-file'] === undefined ? undefined : firstToken(await readInput(values['token-file']));
  const client = new FlexAuthClient({ baseUrl: values.url, timeoutMs, ...(token ? { token } : {}) });
  const request = (resource: string, ttl?: string) => ({
    subject: { id: subject }, action: 'sign', resource: { type: 'ssh_actor', id: resource },
    ...(ttl ? { context: { ttl } } : {}),
  });

  const steps: Step[] = [];
  const health = await client.healthy();
  steps.push({ name: 'healthz', ok: health.ok, evidence: health.detail });
  if (health.ok) {
    const allow = await client.check(request(actor), { requestId: 'flex-auth-smoke-allow' });
    steps.push({ name: `allow ${actor} for ${subject}`, ok: allow.allow, evidence: describe(allow) });
    const tooLong = await client.check(request(actor, TOO_LONG_TTL), { requestId: 'flex-auth-smoke-ttl' });
    steps.push({ name: `deny ${actor} ttl ${TOO_LONG_TTL}`, ok: !tooLong.allow && tooLong.reason === 'ttl_out_of_bounds', evidence: describe(tooLong) });
    const unknown = await client.check(request(UNREGISTERED_ACTOR), { requestId: 'flex-auth-smoke-unknown' });
    steps.push({ name: `deny ${UNREGISTERED_ACTOR}`, ok: !unknown.allow && unknown.reason === 'unknown_actor_resource', evidence: describe(unknown) });
  }

  for (const step of steps) process.stdout.write(`${step.ok ? 'ok  ' : 'FAIL'} ${step.name}: ${step.evidence}\n`);
  const passed = steps.length === 4 && steps.every((step) => step.ok);
  process.stdout.write(passed ? `smoke passed against ${values.url}\n` : `smoke FAILED against ${values.url}\n`);
  return passed ? EXIT.ok : EXIT.negative;
}
