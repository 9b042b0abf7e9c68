import Koa from 'koa';
import type { Context, Next } from 'koa';
import { Router } from '@koa/router';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { RegistryStore } from '../registry/store.js';
import { requireBearer } from './auth.js';
import type { BearerTokens } from './auth.js';
import { errorHandler } from './errors.js';
import { DEFAULT_LIMITS, limitInFlight } from './limits.js';
import { requestId } from './request-id.js';
import { checkHandler } from './routes/check.js';
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

/** Builds the Koa app; it never listens, so tests can drive it in-process. */
export function createApp(deps: AppDeps): Koa {
  const router = new Router();
  // Authentication first, so unauthenticated calls take no in-flight slot.
  const guards = deps.tokens ? [requireBearer(deps.tokens)] : [];
  router.post('/v1/check', ...guards, limitInFlight(deps.maxInFlightChecks ?? DEFAULT_LIMITS.maxInFlightChecks), checkHandler(deps));
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
