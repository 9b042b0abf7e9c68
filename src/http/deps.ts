import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { RegistryStore } from '../registry/store.js';
import type { CallerAuthenticator, CallerProof } from './auth.js';
import type { ServerLimits } from './limits.js';

/** What the HTTP layer needs from the service, for both lanes; its own module so no lane imports `app.ts`. */
export interface AppDeps {
  readonly store: RegistryStore;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** True once shutdown has begun: /readyz then answers 503 so traffic moves elsewhere. */
  readonly isDraining: () => boolean;
  /** The callers' current static tokens (`--auth-token-file`); with them or `authenticator`, /v1/check needs a token. */
  readonly tokens?: () => CallerProof;
  /** Kubernetes TokenReview (`--auth-tokenreview-audience`), tried for a token that is not a static one. */
  readonly authenticator?: CallerAuthenticator;
  /** True when `--diagnostic-port` serves /healthz, /readyz and /metrics: the main port then answers them 404. */
  readonly diagnosticPort?: boolean;
  /** Default: DEFAULT_LIMITS (only the body limit applies here; the server enforces the rest). */
  readonly limits?: ServerLimits;
  /** With `--max-staleness`: whether the registry is past the bound, and since when it was confirmed. */
  readonly freshness?: () => RegistryFreshness;
}

/** The staleness guard's state as the HTTP layer sees it (sources/freshness.ts keeps it). */
export interface RegistryFreshness {
  readonly stale: boolean;
  readonly confirmedAt: Date;
  /** Milliseconds since that confirmation. */
  readonly quietMs: number;
  readonly maxStalenessMs: number;
}
