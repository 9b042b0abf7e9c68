import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseCheckRequest } from '../core/check-request.js';
import { decide } from '../core/decide.js';
import { InvalidRequestError } from '../core/errors.js';
import type { AppDeps } from './app.js';
import { authenticate, UnauthorizedError } from './auth.js';
import { MAX_BODY_BYTES, readJsonBody } from './body.js';
import { DecisionLog } from './decision-log.js';
import type { DecisionRecord } from './decision-log.js';
import { errorResponse, MethodNotAllowedError, PayloadTooLargeError } from './errors.js';
import { DEFAULT_LIMITS, InFlightBound, OverloadedError } from './limits.js';
import { requestIdFor } from './request-id.js';

export const CHECK_PATH = '/v1/check';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const NO_HEADERS: readonly string[] = [];

function explainFlag(url: string): boolean {
  const query = url.indexOf('?');
  if (query === -1) return false;
  const values = new URLSearchParams(url.slice(query + 1)).getAll('explain');
  if (values.length === 0 || (values.length === 1 && values[0] === 'false')) return false;
  if (values.length === 1 && values[0] === 'true') return true;
  throw new InvalidRequestError('explain must be true or false', [{ path: 'explain', message: 'must be true or false' }]);
}

/** All headers at once, as a flat list: Node then builds the header block without a headers object. */
function send(res: ServerResponse, status: number, body: unknown, requestId: string, headers: readonly string[] = NO_HEADERS): void {
  const json = JSON.stringify(body);
  res.writeHead(status, ['Content-Type', JSON_CONTENT_TYPE, 'Content-Length', String(Buffer.byteLength(json)), 'X-Request-Id', requestId, ...headers]);
  res.end(json);
}

/** A check decided, waiting for its log line to be written before it is answered. */
interface Decided {
  readonly status: number;
  readonly record: DecisionRecord;
  /** The decisions metric's action label: only actions the registry knows, so callers cannot mint series. */
  readonly action: string;
  readonly seconds: number;
}

/** The answer to a check whose log line could not be written: no decision leaves unlogged. */
const UNLOGGED = { error: { code: 'internal_error', message: 'internal error', details: [] } } as const;

/**
 * POST /v1/check, the one route on every `warden sign`'s path, served by a plain Node handler
 * rather than Koa: the framework's per-request cost alone was more than the budget the check
 * has (see docs/performance.md). It does what the Koa stack does for the other routes, with
 * the same pieces: request id, authentication, in-flight bound, body limits, the request
 * schema, the decision, its log line (written before the reply), metrics, and the shared
 * error mapping. No promises on the way: the body arrives by callback, the decision is
 * synchronous, and the reply goes out once the decision log has written the line.
 */
export function checkLane({ store, metrics, logger, tokens, maxInFlightChecks }: AppDeps) {
  const bound = new InFlightBound(maxInFlightChecks ?? DEFAULT_LIMITS.maxInFlightChecks);
  const decisionLog = new DecisionLog(logger);

  /** Decides a parsed body; throws for a request the contract rejects. */
  function decideCheck(req: IncomingMessage, body: unknown, requestId: string, startedAt: bigint): Decided {
    const request = parseCheckRequest(body);
    const explain = explainFlag(req.url ?? '');
    const registry = store.current();
    if (!registry) {
      const decision = { allow: false, reason: 'registry_unavailable', message: 'no valid registry is loaded yet' } as const;
      const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
      return { status: 503, action: 'other', seconds, record: { requestId, request, decision, durationMs: seconds * 1000 } };
    }
    const decision = decide(registry, request, { explain });
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    const action = registry.actions.has(request.action) ? request.action : 'other';
    return { status: 200, action, seconds, record: { requestId, request, decision, durationMs: seconds * 1000 } };
  }

  function fail(res: ServerResponse, error: unknown, requestId: string): number {
    const response = errorResponse(error, logger, { requestId, path: CHECK_PATH });
    const headers =
      error instanceof UnauthorizedError ? ['WWW-Authenticate', UnauthorizedError.CHALLENGE]
      : error instanceof OverloadedError ? ['Retry-After', '1']
      : error instanceof MethodNotAllowedError ? ['Allow', 'POST']
      // The rest of an oversized body is not read, so the connection cannot carry another request.
      : error instanceof PayloadTooLargeError ? ['Connection', 'close']
      : NO_HEADERS;
    send(res, response.status, response.body, requestId, headers);
    return response.status;
  }

  return function handle(req: IncomingMessage, res: ServerResponse): void {
    const startedAt = process.hrtime.bigint();
    const requestId = requestIdFor(req.headers['x-request-id']);
    const method = req.method ?? 'other';
    const finish = (status: number) => metrics.recordHttp(CHECK_PATH, method, status);
    try {
      if (method === 'OPTIONS') {
        send(res, 200, {}, requestId, ['Allow', 'POST']);
        return finish(200);
      }
      if (method !== 'POST') throw new MethodNotAllowedError(method, CHECK_PATH);
      // Authentication first, so unauthenticated calls take no in-flight slot.
      if (tokens) authenticate(req.headers.authorization, tokens());
      bound.acquire();
    } catch (error) {
      return finish(fail(res, error, requestId));
    }
    readJsonBody(req, MAX_BODY_BYTES, (readError, body) => {
      let decided: Decided;
      try {
        if (readError) throw readError;
        decided = decideCheck(req, body, requestId, startedAt);
      } catch (error) {
        bound.release();
        return finish(fail(res, error, requestId));
      }
      decisionLog.append(decided.record, (logged) => {
        bound.release();
        if (!logged) {
          // Nothing can be logged, this failure included; the caller sees a plain 500.
          send(res, 500, UNLOGGED, requestId);
          return finish(500);
        }
        const { decision } = decided.record;
        metrics.recordDecision(decided.action, decision.allow, decision.reason, decided.seconds);
        send(res, decided.status, decision, requestId);
        finish(decided.status);
      });
    });
  };
}
