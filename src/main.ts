import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { followTokenFile } from './auth-token-file.js';
import { createApp } from './http/app.js';
import type { CallerAuthenticator } from './http/auth.js';
import { createDiagnosticApp } from './http/diagnostic-app.js';
import { followAuditKey } from './audit-key-file.js';
import { DecisionLog } from './http/decision-log.js';
import { DEFAULT_LIMITS, limitedServer } from './http/limits.js';
import type { ServerLimits } from './http/limits.js';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { describeFailure, RegistryStore } from './registry/store.js';
import type { ReloadEvent } from './registry/store.js';
import type { ConfigMapSourceOptions } from './sources/configmap.js';
import { Freshness } from './sources/freshness.js';
import { EmbeddedSource } from './sources/embedded.js';
import { FileSource } from './sources/file.js';
import type { FileSourceOptions } from './sources/file.js';
import { describeSource } from './sources/source.js';
import { holdTickShape } from './tick-shape.js';
import type { RegistryLocation, RegistrySource, SourceInfo } from './sources/source.js';

export type { RegistryLocation } from './sources/source.js';

export interface ServiceConfig {
  readonly host: string;
  readonly port: number;
  readonly registry: RegistryLocation;
  /** Bearer tokens for callers of /v1/check, one a line; caller authentication is off without it. */
  readonly authTokenFile?: string;
  /** How long to keep serving, unready, after shutdown begins, so load balancers move away first. */
  readonly shutdownDelayMs?: number;
  /** The key that signs the decision log's checkpoints (contract section 15); no checkpoints without it. */
  readonly auditKeyFile?: string;
  /** The staleness guard (ConfigMap source only): deny once the source has not confirmed for this long. */
  readonly maxStalenessMs?: number;
  /** Kubernetes TokenReview of callers' tokens for this audience, admitting the allowed usernames. */
  readonly tokenReview?: TokenReviewConfig;
  /** A second port for /healthz, /readyz and /metrics (the main port then answers them 404). */
  readonly diagnosticPort?: number;
}

export interface TokenReviewConfig {
  readonly audience: string;
  readonly allowedCallers: readonly string[];
  /** Deadline of each review; default 2 s. */
  readonly timeoutMs?: number;
  /** The longest a verdict is kept, at most (and by default) 60 s. */
  readonly cacheTtlMs?: number;
}

export interface ServiceOptions {
  readonly logger?: Logger;
  readonly fileSource?: Omit<FileSourceOptions, 'logger'>;
  readonly configMapSource?: Omit<ConfigMapSourceOptions, 'logger'>;
  /** Credentials for TokenReview; by default those the ConfigMap source would use. */
  readonly kubeConfig?: KubeConfig;
  /** Milliseconds since the epoch for the staleness guard: Date.now unless a test moves time by hand. */
  readonly clock?: () => number;
  /** How long shutdown waits for in-flight requests before closing their connections. */
  readonly shutdownGraceMs?: number;
  readonly limits?: Partial<ServerLimits>;
}

export interface RunningService {
  readonly url: string;
  readonly port: number;
  /** With `diagnosticPort`: the port /healthz, /readyz and /metrics are served on. */
  readonly diagnosticPort?: number;
  readonly store: RegistryStore;
  /** Stops being ready, stops the source, finishes in-flight requests, then closes. */
  close(): Promise<void>;
}

async function createSource(location: RegistryLocation, store: RegistryStore, logger: Logger, options: ServiceOptions, freshness?: Freshness): Promise<RegistrySource> {
  switch (location.kind) {
    case 'file':
      return new FileSource(location.path, store, { ...options.fileSource, logger });
    case 'configmap': {
      // Loaded only when used: the Kubernetes client costs about a second of start-up.
      const { ConfigMapSource } = await import('./sources/configmap.js');
      return new ConfigMapSource(location, store, { ...options.configMapSource, logger, ...(freshness ? { freshness } : {}) });
    }
    case 'embedded':
      return new EmbeddedSource(store);
  }
}

function logReload(logger: Logger, source: SourceInfo, event: ReloadEvent): void {
  if (event.result === 'success') {
    const { registry } = event.active;
    logger.info(
      {
        source: source.name,
        revision: registry.revision,
        previous_revision: event.previous?.registry.revision ?? null,
        source_version: event.active.sourceVersion ?? null,
        actors: registry.counts.actors,
        relationships: registry.counts.relationships,
      },
      'registry loaded',
    );
  } else {
    logger.error(
      { source: source.name, error: describeFailure(event.failure), kept_revision: event.active?.registry.revision ?? null },
      'registry reload failed; keeping the last good registry',
    );
  }
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Stops accepting connections and lets in-flight requests finish; a keep-alive connection is
 * closed as soon as its request is answered. Whatever is still open after `graceMs` is cut.
 */
function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    const idle = setInterval(() => server.closeIdleConnections(), 50);
    server.close(() => {
      clearTimeout(force);
      clearInterval(idle);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** The staleness guard, when asked for; only a ConfigMap source has something to confirm. */
function stalenessGuard(config: ServiceConfig, info: SourceInfo, logger: Logger, options: ServiceOptions): Freshness | undefined {
  if (config.maxStalenessMs === undefined) return undefined;
  if (info.kind !== 'configmap') throw new Error('max staleness applies to a ConfigMap source only');
  const freshness = new Freshness(config.maxStalenessMs, options.clock);
  freshness.onChange((stale) => {
    const fields = { source: info.name, max_staleness_ms: config.maxStalenessMs, confirmed_at: freshness.status().confirmedAt.toISOString() };
    if (stale) logger.error(fields, 'registry is stale: the source has not confirmed it within the bound; denying checks');
    else logger.info(fields, 'registry confirmed again; no longer stale');
  });
  return freshness;
}

/** The TokenReview authenticator, when asked for; the Kubernetes client is loaded only then. */
async function tokenReviewAuthenticator(config: TokenReviewConfig | undefined, logger: Logger, options: ServiceOptions): Promise<CallerAuthenticator | undefined> {
  if (config === undefined) return undefined;
  const { TokenReviewAuthenticator, kubeTokenReview, DEFAULT_REVIEW_TIMEOUT_MS } = await import('./kube-token-review.js');
  const review = kubeTokenReview(config.audience, config.timeoutMs ?? DEFAULT_REVIEW_TIMEOUT_MS, options.kubeConfig);
  return new TokenReviewAuthenticator({
    audience: config.audience, allowedCallers: config.allowedCallers, review, logger,
    ...(config.cacheTtlMs === undefined ? {} : { cacheTtlMs: config.cacheTtlMs }),
  });
}

/** The one place that wires config, store, source, metrics, logger and HTTP together. */
export async function startService(config: ServiceConfig, options: ServiceOptions = {}): Promise<RunningService> {
  // Before the registry load's collections: see tick-shape.ts.
  holdTickShape();
  const logger = options.logger ?? createLogger();
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const info = describeSource(config.registry);
  const store = new RegistryStore(info);
  const metrics = new Metrics(info.kind);
  store.onReload((event) => {
    metrics.recordReload(event);
    logReload(logger, info, event);
  });
  if (info.kind === 'embedded') {
    logger.warn({ source: info.name }, 'no registry source given (--registry-file or --registry-configmap); serving the embedded example registry');
  }
  // Before anything starts: a key file that is missing or empty is a mistake to refuse, not to serve with.
  const auditKey = config.auditKeyFile === undefined ? undefined : followAuditKey(config.auditKeyFile, logger);
  const decisionLog = DecisionLog.for(logger);
  const tokens = config.authTokenFile === undefined
    ? undefined
    : await followTokenFile(config.authTokenFile, logger, { withTokenReview: config.tokenReview !== undefined });
  const authenticator = await tokenReviewAuthenticator(config.tokenReview, logger, options).catch(async (error: unknown) => {
    await tokens?.stop();
    throw error;
  });
  const freshness = stalenessGuard(config, info, logger, options);
  if (freshness) metrics.followStaleness(() => freshness.stale());

  let draining = false;
  const deps = {
    store, metrics, logger, limits,
    isDraining: () => draining,
    ...(tokens ? { tokens: tokens.current } : {}),
    ...(authenticator ? { authenticator } : {}),
    ...(freshness ? { freshness: () => freshness.status() } : {}),
    diagnosticPort: config.diagnosticPort !== undefined,
  };
  const server = limitedServer(createApp(deps), limits);
  const diagnosticServer = config.diagnosticPort === undefined ? undefined : limitedServer(createDiagnosticApp(deps), limits);

  const source = await createSource(config.registry, store, logger, options, freshness);
  let port: number;
  let diagnosticPort: number | undefined;
  try {
    await source.start();
    port = await listen(server, config.host, config.port);
    if (diagnosticServer) diagnosticPort = await listen(diagnosticServer, config.host, config.diagnosticPort!);
  } catch (error) {
    // Nothing started may outlive a failed start, or the process would linger.
    await source.stop();
    await tokens?.stop();
    if (server.listening) await closeServer(server, 0);
    throw error;
  }
  if (auditKey) decisionLog.startCheckpoints({ key: auditKey });
  logger.info({
    host: config.host, port, ...(diagnosticPort === undefined ? {} : { diagnostic_port: diagnosticPort }),
    source: info.name, ready: store.current() !== undefined, auth: tokens !== undefined || authenticator !== undefined,
    ...(config.tokenReview ? { tokenreview_audience: config.tokenReview.audience, allowed_callers: config.tokenReview.allowedCallers } : {}),
    log_id: decisionLog.logId, checkpoints: auditKey !== undefined,
  }, 'listening');

  return {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    port,
    ...(diagnosticPort === undefined ? {} : { diagnosticPort }),
    store,
    async close() {
      draining = true;
      if (config.shutdownDelayMs) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
      await source.stop();
      await tokens?.stop();
      const graceMs = options.shutdownGraceMs ?? 10_000;
      await Promise.all([closeServer(server, graceMs), diagnosticServer && closeServer(diagnosticServer, graceMs)]);
      // Every check is answered, so every decision line is out: seal them.
      decisionLog.close();
      logger.info('stopped');
      logger.flush();
    },
  };
}
