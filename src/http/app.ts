import type { RequestListener } from 'node:http';
import Koa from 'koa';
import type { Context, Middleware, Next } from 'koa';
import { Router } from '@koa/router';
import type { Metrics } from '../metrics.js';
import { authzenRoutes, METADATA_PATH, metadataHandler } from './authzen/routes.js';
import { CHECK_PATH, checkLane, decisionLane } from './check.js';
import type { DecisionLane } from './check.js';
import type { AppDeps } from './deps.js';
import { errorHandler, MethodNotAllowedError, NotFoundError } from './errors.js';
import { requestId } from './request-id.js';
import { healthHandler, metricsHandler, readyHandler, registryHandler } from './routes/status.js';

/** Each path and the methods it answers: the one source of 404, 405, `Allow` and OPTIONS, for both lanes. */
function allowedMethods(getRoutes: readonly string[], postRoutes: readonly string[]): ReadonlyMap<string, string> {
  return new Map<string, string>([
    ...postRoutes.map((route) => [route, 'POST'] as const),
    ...getRoutes.map((route) => [route, 'GET, HEAD'] as const),
  ]);
}

/** The metrics' route label: a served path, never a raw one, so the label stays bounded. */
function countRequests(metrics: Metrics, allowed: ReadonlyMap<string, string>) {
  return async function count(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } finally {
      metrics.recordHttp(allowed.has(ctx.path) ? ctx.path : 'unmatched', ctx.method, ctx.status);
    }
  };
}

/**
 * What no route answered: OPTIONS lists a path's methods, another method is 405, another path
 * 404; the 404 for a path in `movedToDiagnostic` says that the diagnostic port serves it.
 */
function unrouted(allowed: ReadonlyMap<string, string>, movedToDiagnostic: readonly string[]) {
  return function refuse(ctx: Context): void {
    const allow = allowed.get(ctx.path);
    if (allow === undefined) {
      const moved = movedToDiagnostic.includes(ctx.path);
      throw new NotFoundError(ctx.method, ctx.path, moved ? 'served on the diagnostic port (--diagnostic-port)' : undefined);
    }
    if (ctx.method !== 'OPTIONS') throw new MethodNotAllowedError(ctx.method, ctx.path, allow);
    ctx.status = 204;
    ctx.set('Allow', allow);
  };
}

/** The probes and /metrics: on the main port, or alone on `--diagnostic-port`. */
export function diagnosticRoutes(deps: AppDeps): Record<string, Middleware> {
  return { '/healthz': healthHandler(), '/readyz': readyHandler(deps), '/metrics': metricsHandler(deps) };
}

/**
 * A Koa app for these routes, with the service's request counting, request ids, error shape
 * and refusals (404, 405, OPTIONS); `otherPosts` are POST paths served outside Koa, and
 * `movedToDiagnostic` those the diagnostic port serves instead.
 */
export function routedApp(
  deps: AppDeps, routes: Record<string, Middleware>, postRoutes: Record<string, Middleware>,
  otherPosts: readonly string[] = [], movedToDiagnostic: readonly string[] = [],
): Koa {
  // Exact paths, as /v1/check's own lane matches: `/healthz/` or `/HEALTHZ` is a 404, never a
  // route served but counted as `unmatched`.
  const router = new Router({ strict: true, sensitive: true });
  for (const [path, handler] of Object.entries(routes)) router.get(path, handler);
  for (const [path, handler] of Object.entries(postRoutes)) router.post(path, handler);
  const allowed = allowedMethods(Object.keys(routes), [...otherPosts, ...Object.keys(postRoutes)]);

  const app = new Koa();
  app.silent = true; // errorHandler logs; Koa's default handler would print stacks to stderr
  app.use(countRequests(deps.metrics, allowed));
  app.use(requestId);
  app.use(errorHandler(deps.logger));
  app.use(router.routes());
  app.use(unrouted(allowed, movedToDiagnostic));
  return app;
}

/** Koa serves everything but /v1/check: health, readiness, the registry summary, metrics, AuthZEN, and every refusal by route or method. */
function statusApp(deps: AppDeps, lane: DecisionLane): Koa {
  const diagnostic = diagnosticRoutes(deps);
  const routes: Record<string, Middleware> = {
    ...(deps.diagnosticPort ? {} : diagnostic),
    '/v1/registry': registryHandler(deps),
    [METADATA_PATH]: metadataHandler(),
  };
  return routedApp(deps, routes, authzenRoutes(deps, lane), [CHECK_PATH], deps.diagnosticPort ? Object.keys(diagnostic) : []);
}

/**
 * The path of a request target: origin-form (`/v1/check?x`) or, rarely, absolute-form
 * (`http://host/v1/check`). A fragment (`#x`), which clients should not send, ends the path as a
 * query does, as Koa's own parsing has it: both lanes then agree on the route.
 */
function pathOf(target: string): string {
  if (target.startsWith('/')) {
    const end = target.search(/[?#]/);
    return end === -1 ? target : target.slice(0, end);
  }
  return URL.canParse(target) ? new URL(target).pathname : target;
}

/**
 * The service's request listener: `POST /v1/check` goes to the check lane, everything else to
 * Koa. It never listens, so tests can serve it on any port in-process.
 */
export function createApp(deps: AppDeps): RequestListener {
  const lane = decisionLane(deps);
  const check = checkLane(deps, lane);
  const rest = statusApp(deps, lane).callback();
  return (req, res) => {
    if (req.method === 'POST' && pathOf(req.url ?? '') === CHECK_PATH) check(req, res);
    else void rest(req, res);
  };
}
