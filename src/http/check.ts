import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonString as quote } from '../core/canonical-json.js';
import { parseCheckRequest } from '../core/check-request.js';
import { decide } from '../core/decide.js';
import { InvalidRequestError } from '../core/errors.js';
import type { CheckRequest } from '../core/types.js';
import type { CompiledRegistry } from '../registry/compiled-registry.js';
import { ANONYMOUS, callerGate } from './auth.js';
import { readJsonBody } from './body.js';
import { DecisionLog, grantJson } from './decision-log.js';
import type { DecisionRecord } from './decision-log.js';
import type { AppDeps, RegistryFreshness } from './deps.js';
import { errorAnswer, errorResponse } from './errors.js';
import type { HeaderList } from './errors.js';
import { DEFAULT_LIMITS } from './limits.js';
import { requestIdFor } from './request-id.js';

export const CHECK_PATH = '/v1/check';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const NO_HEADERS: HeaderList = [];

export function explainFlag(url: string): boolean {
  const query = url.indexOf('?');
  if (query === -1) return false;
  const values = new URLSearchParams(url.slice(query + 1)).getAll('explain');
  if (values.length === 0 || (values.length === 1 && values[0] === 'false')) return false;
  if (values.length === 1 && values[0] === 'true') return true;
  throw new InvalidRequestError('explain must be true or false', [{ path: 'explain', message: 'must be true or false' }]);
}

/** All headers at once, as a flat list: Node then builds the header block without a headers object. */
function sendJson(res: ServerResponse, status: number, json: string, requestId: string, headers: HeaderList = NO_HEADERS): void {
  res.writeHead(status, ['Content-Type', JSON_CONTENT_TYPE, 'Content-Length', String(Buffer.byteLength(json)), 'X-Request-Id', requestId, ...headers]);
  res.end(json);
}

function send(res: ServerResponse, status: number, body: unknown, requestId: string, headers: HeaderList = NO_HEADERS): void {
  sendJson(res, status, JSON.stringify(body), requestId, headers);
}

/**
 * `JSON.stringify(decision)` for the shapes `decide` and the fail-closed refusals make (members
 * in this order, each optional one absent or set), spelled out because it runs on every check
 * and costs half as much; an explained decision (with its trace) goes through JSON.stringify.
 * A property test checks it against JSON.stringify on decisions made by `decide`.
 */
export function decisionJson(decision: DecisionRecord['decision'] & { readonly trace?: unknown }): string {
  if (decision.trace !== undefined) return JSON.stringify(decision);
  // The reason, decision id, revision and policy are plain by construction (canonical-json.ts).
  let json = `{"allow":${decision.allow},"reason":"${decision.reason}"`;
  if (decision.message !== undefined) json += `,"message":${quote(decision.message)}`;
  if (decision.decision_id !== undefined) json += `,"decision_id":"${decision.decision_id}"`;
  if (decision.registry_revision !== undefined) json += `,"registry_revision":"${decision.registry_revision}"`;
  if (decision.policy !== undefined) json += `,"policy":"${decision.policy}"`;
  if (decision.grant !== undefined) json += `,"grant":${grantJson(decision.grant)}`;
  return `${json}}`;
}

/** A check decided, waiting for its log line to be written before it is answered. */
export interface Decided {
  readonly status: number;
  readonly record: DecisionRecord;
  /** The decisions metric's action label: only actions the registry knows, so callers cannot mint series. */
  readonly action: string;
  readonly seconds: number;
}

/** The answer to a check whose log line could not be written (a plain 500): no decision leaves unlogged. */
export const UNLOGGED = errorAnswer(new Error('decision log line not written'));

/** Why a registry past `--max-staleness` answers nothing: the refusal's message, for checks and searches alike. */
export function staleMessage(guard: RegistryFreshness): string {
  return `the registry source has not confirmed the registry for ${Math.floor(guard.quietMs / 1000)}s (max staleness ${guard.maxStalenessMs / 1000}s)`;
}

/** The decisions metric's action label: an action some actor of the registry has, else `other`. */
function actionLabel(registry: CompiledRegistry | undefined, action: string): string {
  return registry?.actions.has(action) === true ? action : 'other';
}

/** A fail-closed 503 decision, with no id or revision: no registry to decide with, or none to trust. */
function refused(
  reason: 'registry_unavailable' | 'registry_stale', message: string, registry: CompiledRegistry | undefined,
  request: CheckRequest, requestId: string, caller: string, startedAt: bigint,
): Decided {
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const record = { requestId, request, decision: { allow: false, reason, message }, durationMs: seconds * 1000, caller };
  return { status: 503, action: actionLabel(registry, request.action), seconds, record };
}

/**
 * The one way a request becomes a logged, counted decision, for /v1/check and the AuthZEN
 * endpoints alike: one `decide`, one decision log (one instance, so its lines stay one
 * sequence), one metrics path. `registry` lets a batch pin one revision for all its items.
 */
export function decisionLane({ store, metrics, logger, freshness }: AppDeps) {
  const decisionLog = DecisionLog.for(logger);
  return {
    decide(request: CheckRequest, explain: boolean, requestId: string, caller: string, startedAt: bigint, registry = store.current()): Decided {
      if (!registry) return refused('registry_unavailable', 'no valid registry is loaded yet', undefined, request, requestId, caller, startedAt);
      const guard = freshness?.();
      // Fail closed: a registry nobody has confirmed for that long may still grant a revoked signer.
      if (guard?.stale) return refused('registry_stale', staleMessage(guard), registry, request, requestId, caller, startedAt);
      const decision = decide(registry, request, { explain });
      const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
      return { status: 200, action: actionLabel(registry, request.action), seconds, record: { requestId, request, decision, durationMs: seconds * 1000, caller } };
    },

    /** Writes the decision's line, then counts the decision; `then(false)`: the line was not written, answer `UNLOGGED`. */
    record(decided: Decided, then: (logged: boolean) => void): void {
      decisionLog.append(decided.record, (logged) => {
        if (!logged) {
          // The log is gone (the logger said so once, on stderr); counted, and refused.
          metrics.recordDecisionLogFailure();
          return then(false);
        }
        const { decision } = decided.record;
        metrics.recordDecision(decided.action, decision.allow, decision.reason, decided.seconds);
        then(true);
      });
    },
  };
}

export type DecisionLane = ReturnType<typeof decisionLane>;

/**
 * POST /v1/check, the one route on every `warden sign`'s path, served by a plain Node handler
 * rather than Koa: the framework's per-request cost alone was more than the budget the check
 * has (see docs/performance.md). Only POST comes here; every other method on the path goes to
 * Koa, which answers OPTIONS and 405 for every route alike. What it shares with the Koa stack
 * is listed in docs/architecture.md. No promises on the way: the body arrives by callback,
 * the decision is synchronous, and the reply goes out once the decision log has written the line.
 */
export function checkLane(deps: AppDeps, lane: DecisionLane = decisionLane(deps)) {
  const { metrics, logger, limits = DEFAULT_LIMITS } = deps;
  const gate = callerGate(deps);

  /** Decides a parsed body; throws for a request the contract rejects. */
  function decideCheck(req: IncomingMessage, body: unknown, requestId: string, caller: string, startedAt: bigint): Decided {
    return lane.decide(parseCheckRequest(body), explainFlag(req.url ?? ''), requestId, caller, startedAt);
  }

  function fail(res: ServerResponse, error: unknown, requestId: string): number {
    const answer = errorResponse(error, logger, { requestId, path: CHECK_PATH });
    send(res, answer.status, answer.body, requestId, answer.headers);
    return answer.status;
  }

  return function handle(req: IncomingMessage, res: ServerResponse): void {
    const startedAt = process.hrtime.bigint();
    const requestId = requestIdFor(req.headers['x-request-id']);
    const finish = (status: number) => metrics.recordHttp(CHECK_PATH, 'POST', status);
    const decideBody = (caller: string) => readJsonBody(req, limits.maxBodyBytes, (readError, body) => {
      let decided: Decided;
      try {
        if (readError) throw readError;
        decided = decideCheck(req, body, requestId, caller, startedAt);
      } catch (error) {
        return finish(fail(res, error, requestId));
      }
      lane.record(decided, (logged) => {
        if (!logged) {
          send(res, UNLOGGED.status, UNLOGGED.body, requestId, UNLOGGED.headers);
          return finish(UNLOGGED.status);
        }
        sendJson(res, decided.status, decisionJson(decided.record.decision), requestId);
        finish(decided.status);
      });
    });
    if (!gate) return decideBody(ANONYMOUS);
    let caller: string | Promise<string>;
    try {
      caller = gate.callerOf(req.headers.authorization);
    } catch (error) {
      return finish(fail(res, error, requestId));
    }
    if (typeof caller === 'string') return decideBody(caller);
    // An uncached TokenReview: the body is read once the caller is known.
    caller.then(decideBody, (error: unknown) => finish(fail(res, error, requestId)));
  };
}
