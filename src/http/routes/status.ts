import type { Context } from 'koa';
import type { AppDeps } from '../deps.js';
import { RegistryUnavailableError } from '../errors.js';

/** GET /healthz: the process serves (liveness); says nothing about the registry. */
export function healthHandler() {
  return function health(ctx: Context): void {
    ctx.body = { status: 'ok' };
  };
}

/**
 * GET /readyz: 200 once a valid registry is loaded and the service is not shutting down; with
 * `--max-staleness`, also not stale (`stale` and `confirmed_at` then say how fresh it is).
 */
export function readyHandler({ store, isDraining, freshness }: AppDeps) {
  return function ready(ctx: Context): void {
    const status = store.status();
    const draining = isDraining();
    const guard = freshness?.();
    const ready = status.ready && !draining && guard?.stale !== true;
    ctx.status = ready ? 200 : 503;
    ctx.body = {
      ...status, ready,
      ...(guard ? { stale: guard.stale, confirmed_at: guard.confirmedAt.toISOString() } : {}),
      ...(draining ? { shutting_down: true } : {}),
    };
  };
}

/** GET /v1/registry: what is loaded, never the document itself. */
export function registryHandler({ store }: AppDeps) {
  return function registry(ctx: Context): void {
    const active = store.snapshot();
    if (!active) throw new RegistryUnavailableError();
    const { registry: compiled } = active;
    ctx.body = {
      revision: compiled.revision,
      source: store.source.name,
      source_version: active.sourceVersion ?? null,
      loaded_at: active.loadedAt.toISOString(),
      metadata: compiled.metadata,
      counts: compiled.counts,
    };
  };
}

/** GET /metrics: Prometheus text format. */
export function metricsHandler({ metrics }: AppDeps) {
  return async function exposition(ctx: Context): Promise<void> {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  };
}
