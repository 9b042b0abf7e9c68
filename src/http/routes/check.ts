import type { Context } from 'koa';
import { parseCheckRequest } from '../../core/check-request.js';
import { decide } from '../../core/decide.js';
import { InvalidRequestError } from '../../core/errors.js';
import type { AppDeps } from '../app.js';
import { readJsonBody } from '../body.js';
import { logDecision } from '../decision-log.js';

function explainFlag(value: unknown): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new InvalidRequestError('explain must be true or false', [{ path: 'explain', message: 'must be true or false' }]);
}

function elapsedSeconds(ctx: Context): number {
  return Number(process.hrtime.bigint() - (ctx.state.startedAt as bigint)) / 1e9;
}

/**
 * POST /v1/check: body limit -> schema -> active registry (503 if none) -> decide ->
 * decision log line -> metrics -> reply. A malformed request is a 4xx whatever the registry state.
 */
export function checkHandler({ store, metrics, logger }: AppDeps) {
  return async function check(ctx: Context): Promise<void> {
    const request = parseCheckRequest(await readJsonBody(ctx));
    const explain = explainFlag(ctx.query.explain);
    const registry = store.current();
    const requestId = ctx.state.requestId as string;

    if (!registry) {
      const seconds = elapsedSeconds(ctx);
      const body = { allow: false, reason: 'registry_unavailable', message: 'no valid registry is loaded yet' } as const;
      logDecision(logger, { requestId, request, decision: body, durationMs: seconds * 1000 });
      metrics.recordDecision('other', false, body.reason, seconds);
      ctx.status = 503;
      ctx.body = body;
      return;
    }

    const decision = decide(registry, request, { explain });
    const seconds = elapsedSeconds(ctx);
    logDecision(logger, { requestId, request, decision, durationMs: seconds * 1000 });
    // Only actions the registry knows become label values, so callers cannot mint series.
    const action = registry.actions.has(request.action) ? request.action : 'other';
    metrics.recordDecision(action, decision.allow, decision.reason, seconds);
    ctx.body = decision;
  };
}
