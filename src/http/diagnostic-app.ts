import type { RequestListener } from 'node:http';
import { diagnosticRoutes, routedApp } from './app.js';
import type { AppDeps } from './deps.js';

/**
 * The listener of `--diagnostic-port`: /healthz, /readyz and /metrics only, so a
 * NetworkPolicy can admit the kubelet and Prometheus there without admitting them to the
 * checks. Every other path is a 404 in the service's error shape.
 */
export function createDiagnosticApp(deps: AppDeps): RequestListener {
  return routedApp(deps, diagnosticRoutes(deps), {}).callback();
}
