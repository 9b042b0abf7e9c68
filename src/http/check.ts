import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseCheckRequest } from '../core/check-request.js';
import { decide } from '../core/decide.js';
import { InvalidRequestError } from '../core/errors.js';
import type { AppDeps } from './app.js';
import { authenticate, UnauthorizedError } from './auth.js';
import { readJsonBody } from './body.js';
import { logDecision } from './decision-log.js';
import { errorResponse, MethodNotAllowedError } from './errors.js';
import { DEFAULT_LIMITS, InFlightBound, OverloadedError } from './limits.js';
import { requestIdFor } from './request-id.js';

export const CHECK_PATH = '/v1/check';

function explainFlag(url: string): boolean {
  const query = url.indexOf('?');
  if (query === -1) return false;
  const values = new URLSearchParams(url.slice(query + 1)).getAll('explain');
  if (values.length === 0 || (values.length === 1 && values[0] === 'false')) return false;
  if (values.length === 1 && values[0] === 'true') return true;
  throw new InvalidRequestError('explain must be true or false', [{ path: 'explain', message: 'must be true or false' }]);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(json) });
  res.end(json);
}

/**
 * POST /v1/check, the one route on every `warden sign`'s path, served by a plain Node handler
 * rather than Koa: the framework's per-request cost alone was more than the budget the check
 * has (see docs/performance.md). It does what the Koa stack does for the other routes, with
 * the same pieces: request id, authentication, in-flight bound, body limits, the request
 * schema, the decision, its log line (written before the reply), metrics, and the shared
 * error mapping.
 */
export function checkLane({ store, metrics, logger, tokens, maxInFlightChecks }: AppDeps) {
  const bound = new InFlightBound(maxInFlightChecks ?? DEFAULT_LIMITS.maxInFlightChecks);

  async function check(req: IncomingMessage, res: ServerResponse, requestId: string, startedAt: bigint): Promise<number> {
    const request = parseCheckRequest(await readJsonBody(req));
    const explain = explainFlag(req.url ?? '');
    const registry = store.current();
    const seconds = () => Number(process.hrtime.bigint() - startedAt) / 1e9;
    if (!registry) {
      const body = { allow: false, reason: 'registry_unavailable', message: 'no valid registry is loaded yet' } as const;
      const elapsed = seconds();
      logDecision(logger, { requestId, request, decision: body, durationMs: elapsed * 1000 });
      metrics.recordDecision('other', false, body.reason, elapsed);
      send(res, 503, body);
      return 503;
    }
    const decision = decide(registry, request, { explain });
    const elapsed = seconds();
    logDecision(logger, { requestId, request, decision, durationMs: elapsed * 1000 });
    // Only actions the registry knows become label values, so callers cannot mint series.
    metrics.recordDecision(registry.actions.has(request.action) ? request.action : 'other', decision.allow, decision.reason, elapsed);
    send(res, 200, decision);
    return 200;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = process.hrtime.bigint();
    const requestId = requestIdFor(req.headers['x-request-id']);
    res.setHeader('X-Request-Id', requestId);
    let status: number;
    try {
      if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        if (req.method === 'OPTIONS') {
          send(res, 200, {});
          status = 200;
          return;
        }
        throw new MethodNotAllowedError(req.method ?? '', CHECK_PATH);
      }
      // Authentication first, so unauthenticated calls take no in-flight slot.
      if (tokens) authenticate(req.headers.authorization, tokens());
      bound.acquire();
      try {
        status = await check(req, res, requestId, startedAt);
      } finally {
        bound.release();
      }
    } catch (error) {
      const response = errorResponse(error, logger, { requestId, path: CHECK_PATH });
      const headers: Record<string, string> =
        error instanceof UnauthorizedError ? { 'WWW-Authenticate': UnauthorizedError.CHALLENGE }
        : error instanceof OverloadedError ? { 'Retry-After': '1' }
        : {};
      send(res, response.status, response.body, headers);
      status = response.status;
    } finally {
      metrics.recordHttp(CHECK_PATH, req.method ?? 'other', status!);
    }
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res);
  };
}
