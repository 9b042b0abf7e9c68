import type { RequestListener } from 'node:http';
import Koa from 'koa';
import type { Context, Next } from 'koa';
import { Router } from '@koa/router';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { RegistryStore } from '../registry/store.js';
import type { BearerTokens } from './auth.js';
import { CHECK_PATH, checkLane } from './check.js';
import { errorHandler } from './errors.js';
import { requestId } from './request-id.js';
import { healthHandler, metricsHandler, readyHandler, registryHandler } from './routes/status.js';

export interface AppDeps {
  readonly store: RegistryStore;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** True once shutdown has begun: /readyz then answers 503 so traffic moves elsewhere. */
  readonly isDraining: () => boolean;
  /** The callers' current tokens when caller authentication is on; /v1/check then needs one. */
  readonly tokens?: () => BearerTokens;
  /** Default: DEFAULT_LIMITS.maxInFlightChecks. */
  readonly maxInFlightChecks?: number;
}

function countRequests(metrics: Metrics) {
  return async function count(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } finally {
      // The route pattern, never the raw path, so the label stays bounded.
      const route = typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : 'unmatched';
      metrics.recordHttp(route, ctx.method, ctx.status);
    }
  };
}

/** Koa serves everything but the check: health, readiness, the registry summary, metrics, 404s. */
function statusApp(deps: AppDeps): Koa {
  const router = new Router();
  router.get('/healthz', healthHandler());
  router.get('/readyz', readyHandler(deps));
  router.get('/v1/registry', registryHandler(deps));
  router.get('/metrics', metricsHandler(deps));

  const app = new Koa();
  app.silent = true; // errorHandler logs; Koa's default handler would print stacks to stderr
  app.use(countRequests(deps.metrics));
  app.use(requestId);
  app.use(errorHandler(deps.logger));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/**
 * The service's request listener: `/v1/check` goes to the check lane, everything else to Koa.
 * It never listens, so tests can serve it on any port in-process.
 */
export function createApp(deps: AppDeps): RequestListener {
  const check = checkLane(deps);
  const rest = statusApp(deps).callback();
  return (req, res) => {
    const url = req.url ?? '';
    const path = url.includes('?') ? url.slice(0, url.indexOf('?')) : url;
    if (path === CHECK_PATH) check(req, res);
    else void rest(req, res);
  };
}
