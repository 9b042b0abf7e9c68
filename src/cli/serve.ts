import { parseArgs } from 'node:util';
import { createLogger } from '../logger.js';
import type { RegistryLocation, ServiceConfig, TokenReviewConfig } from '../main.js';
import { parseDuration } from '../core/duration.js';
import { UsageError } from './io.js';
import { isConfigMapKey, isConfigMapName, isNamespaceName } from './kube-names.js';

export const SERVE_USAGE = `flex-auth serve [--host 0.0.0.0] [--port 8080]
                [--registry-file PATH | --registry-configmap NAMESPACE/NAME] [--registry-key registry.json]
                [--auth-token-file PATH] [--shutdown-delay 0s] [--audit-key-file PATH]
                [--max-staleness DURATION] [--diagnostic-port PORT]
                [--auth-tokenreview-audience AUDIENCE --allowed-callers USER,...]
                [--auth-tokenreview-timeout-ms 2000] [--auth-cache-ttl 60s]

  Settings may also come from FLEX_AUTH_HOST, FLEX_AUTH_PORT, FLEX_AUTH_REGISTRY_FILE,
  FLEX_AUTH_REGISTRY_CONFIGMAP, FLEX_AUTH_REGISTRY_KEY, FLEX_AUTH_AUTH_TOKEN_FILE,
  FLEX_AUTH_SHUTDOWN_DELAY and FLEX_AUTH_AUDIT_KEY_FILE; flags win. With no registry source, serves the embedded example
  registry. The ConfigMap is read through the Kubernetes API with KUBECONFIG, or the pod's
  service account. With --auth-token-file (bearer tokens, one a line), /v1/check requires
  Authorization: Bearer. On SIGTERM, stays up unready for --shutdown-delay, then drains.
  With --audit-key-file, keyed checkpoints seal the decision log's chain (flex-auth audit verify).
  --max-staleness (or FLEX_AUTH_MAX_STALENESS; ConfigMap source only; off by default): once the
  API server has not confirmed the registry for that long, /readyz is 503 and checks are
  denied with registry_stale until it answers again.
  --diagnostic-port (FLEX_AUTH_DIAGNOSTIC_PORT): serve /healthz, /readyz and /metrics on this
  port instead (the main port then answers them 404).
  --auth-tokenreview-audience (FLEX_AUTH_AUTH_TOKENREVIEW_AUDIENCE) with --allowed-callers
  (FLEX_AUTH_ALLOWED_CALLERS, comma-separated usernames such as
  system:serviceaccount:ops-warden:ops-warden): a bearer token that is not in --auth-token-file is
  verified with the Kubernetes TokenReview API for that audience (KUBECONFIG, or the pod's service
  account); 401 for an invalid token, 403 for a caller not on the list, 503 auth_unavailable when
  the API server cannot be asked. Verdicts are kept until the token expires and at most
  --auth-cache-ttl (1s to 60s); each review waits at most --auth-tokenreview-timeout-ms. Both
  (FLEX_AUTH_AUTH_CACHE_TTL, FLEX_AUTH_AUTH_TOKENREVIEW_TIMEOUT_MS) need the audience: given
  without it, they are a usage error.`;

/** In-flight requests get this long after shutdown begins; the process exits by force soon after. */
const SHUTDOWN_GRACE_MS = 10_000;

function registryLocation(file: Setting | undefined, configMap: Setting | undefined, key: Setting): RegistryLocation {
  if (file !== undefined && configMap !== undefined) {
    throw new UsageError(`give either ${file.name} or ${configMap.name}, not both`);
  }
  if (file !== undefined) {
    if (file.value === '') throw new UsageError(`${file.name} must not be empty`);
    return { kind: 'file', path: file.value };
  }
  if (configMap === undefined) return { kind: 'embedded' };
  const [namespace = '', name = '', ...rest] = configMap.value.split('/');
  if (rest.length > 0 || !isNamespaceName(namespace) || !isConfigMapName(name)) {
    throw new UsageError(`${configMap.name} must be NAMESPACE/NAME, such as flex-auth/flex-auth-registry (got ${configMap.value})`);
  }
  if (!isConfigMapKey(key.value)) throw new UsageError(`${key.name} must be a ConfigMap key such as registry.json (got ${key.value})`);
  return { kind: 'configmap', namespace, name, key: key.value };
}

/** A setting's value and the name the user gave it by (`--port` or `FLEX_AUTH_PORT`), for messages. */
interface Setting {
  readonly value: string;
  readonly name: string;
}

function setting(flag: string, flagValue: string | undefined, envName: string, env: NodeJS.ProcessEnv, fallback: string): Setting;
function setting(flag: string, flagValue: string | undefined, envName: string, env: NodeJS.ProcessEnv): Setting | undefined;
function setting(flag: string, flagValue: string | undefined, envName: string, env: NodeJS.ProcessEnv, fallback?: string): Setting | undefined {
  if (flagValue !== undefined) return { value: flagValue, name: flag };
  const fromEnv = env[envName];
  if (fromEnv !== undefined) return { value: fromEnv, name: envName };
  return fallback === undefined ? undefined : { value: fallback, name: flag };
}

/** The staleness bound in milliseconds, or undefined when off; only a ConfigMap can go stale. */
function maxStaleness(given: Setting | undefined, registry: RegistryLocation): number | undefined {
  if (given === undefined || given.value === '' || given.value === 'off') return undefined;
  const parsed = parseDuration(given.value);
  if (!parsed.ok || parsed.seconds < 1 || parsed.seconds > 86_400) throw new UsageError(`${given.name} must be a duration from 1s to 24h, or off (got ${given.value})`);
  if (registry.kind !== 'configmap') {
    throw new UsageError(`${given.name} needs --registry-configmap: a file or the embedded registry is read locally and has nothing to go stale`);
  }
  return parsed.seconds * 1000;
}

function portNumber(given: Setting): number {
  const port = Number(given.value);
  if (!/^\d+$/.test(given.value) || port > 65535) throw new UsageError(`${given.name} must be a whole number from 0 to 65535 (got ${given.value})`);
  return port;
}

/** A Kubernetes username: what TokenReview answers, such as system:serviceaccount:NAMESPACE:NAME. */
const USERNAME_PATTERN = /^[^\s,]{1,253}$/;

/**
 * TokenReview settings: an audience and an allow-list go together, or neither is given. The
 * deadline and the cache TTL are checked whenever given, and need the audience: without it
 * TokenReview is off, and an operator who set them meant it on.
 */
function tokenReview(
  audience: Setting | undefined, callers: Setting | undefined, timeout: Setting | undefined, cacheTtl: Setting | undefined,
): TokenReviewConfig | undefined {
  // The default deadline is main's: the Kubernetes client is loaded only when TokenReview is on.
  const timeoutMs = timeout === undefined ? undefined : reviewTimeoutMs(timeout);
  const cacheTtlMs = cacheTtl === undefined ? undefined : cacheTtlMsOf(cacheTtl);
  if (audience === undefined && callers === undefined) {
    const stray = timeout ?? cacheTtl;
    if (stray !== undefined) throw new UsageError(`${stray.name} needs --auth-tokenreview-audience and --allowed-callers (TokenReview is off without them)`);
    return undefined;
  }
  if (audience === undefined || audience.value === '') throw new UsageError(`${callers?.name ?? '--allowed-callers'} needs --auth-tokenreview-audience (the audience callers' tokens are made for)`);
  if (/[\s,]/.test(audience.value)) throw new UsageError(`${audience.name} must be one audience, without spaces or commas (got ${audience.value})`);
  if (callers === undefined) throw new UsageError(`${audience.name} needs --allowed-callers USER,... (who may ask for decisions)`);
  const allowedCallers = callers.value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (allowedCallers.length === 0) throw new UsageError(`${callers.name} must name at least one caller, such as system:serviceaccount:ops-warden:ops-warden`);
  const bad = allowedCallers.find((name) => !USERNAME_PATTERN.test(name));
  if (bad !== undefined) throw new UsageError(`${callers.name}: ${bad} is not a username`);
  return {
    audience: audience.value, allowedCallers,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(cacheTtlMs === undefined ? {} : { cacheTtlMs }),
  };
}

function reviewTimeoutMs(given: Setting): number {
  const ms = Number(given.value);
  if (!/^\d+$/.test(given.value) || ms < 1 || ms > 60_000) throw new UsageError(`${given.name} must be a whole number of milliseconds from 1 to 60000 (got ${given.value})`);
  return ms;
}

function cacheTtlMsOf(given: Setting): number {
  const parsed = parseDuration(given.value);
  if (!parsed.ok || parsed.seconds > 60) throw new UsageError(`${given.name} must be a duration from 1s to 60s (got ${given.value})`);
  return parsed.seconds * 1000;
}

/** Flags over `FLEX_AUTH_*` environment over defaults. */
function serveConfig(args: string[], env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'registry-file': { type: 'string' },
      'registry-configmap': { type: 'string' },
      'registry-key': { type: 'string' },
      'auth-token-file': { type: 'string' },
      'shutdown-delay': { type: 'string' },
      'audit-key-file': { type: 'string' },
      'max-staleness': { type: 'string' },
      'diagnostic-port': { type: 'string' },
      'auth-tokenreview-audience': { type: 'string' },
      'allowed-callers': { type: 'string' },
      'auth-tokenreview-timeout-ms': { type: 'string' },
      'auth-cache-ttl': { type: 'string' },
    },
  });
  const host = values.host ?? env.FLEX_AUTH_HOST ?? '0.0.0.0';
  const port = portNumber(setting('--port', values.port, 'FLEX_AUTH_PORT', env, '8080'));
  const diagnosticSetting = setting('--diagnostic-port', values['diagnostic-port'], 'FLEX_AUTH_DIAGNOSTIC_PORT', env);
  const diagnosticPort = diagnosticSetting === undefined ? undefined : portNumber(diagnosticSetting);
  if (diagnosticPort !== undefined && diagnosticPort !== 0 && diagnosticPort === port) {
    throw new UsageError(`${diagnosticSetting!.name} must differ from the main port (${port})`);
  }
  const file = setting('--registry-file', values['registry-file'], 'FLEX_AUTH_REGISTRY_FILE', env);
  const configMap = setting('--registry-configmap', values['registry-configmap'], 'FLEX_AUTH_REGISTRY_CONFIGMAP', env);
  // A flag for one source overrides the environment's setting for the other.
  const fromFlags = file?.name.startsWith('--') === true || configMap?.name.startsWith('--') === true;
  const onlyFlag = (given: Setting | undefined) => (given?.name.startsWith('--') ? given : undefined);
  const registry = registryLocation(
    fromFlags ? onlyFlag(file) : file,
    fromFlags ? onlyFlag(configMap) : configMap,
    setting('--registry-key', values['registry-key'], 'FLEX_AUTH_REGISTRY_KEY', env, 'registry.json'),
  );
  const authTokenFile = setting('--auth-token-file', values['auth-token-file'], 'FLEX_AUTH_AUTH_TOKEN_FILE', env);
  if (authTokenFile?.value === '') throw new UsageError(`${authTokenFile.name} must not be empty`);
  const auditKeyFile = setting('--audit-key-file', values['audit-key-file'], 'FLEX_AUTH_AUDIT_KEY_FILE', env);
  if (auditKeyFile?.value === '') throw new UsageError(`${auditKeyFile.name} must not be empty`);
  const delaySetting = setting('--shutdown-delay', values['shutdown-delay'], 'FLEX_AUTH_SHUTDOWN_DELAY', env, '0');
  const delayText = delaySetting.value;
  const delay = /^0s?$/.test(delayText) ? { ok: true as const, seconds: 0 } : parseDuration(/^\d+$/.test(delayText) ? Number(delayText) : delayText);
  if (!delay.ok || delay.seconds > 300) throw new UsageError(`${delaySetting.name} must be a duration from 0s to 5m (got ${delayText})`);
  const review = tokenReview(
    setting('--auth-tokenreview-audience', values['auth-tokenreview-audience'], 'FLEX_AUTH_AUTH_TOKENREVIEW_AUDIENCE', env),
    setting('--allowed-callers', values['allowed-callers'], 'FLEX_AUTH_ALLOWED_CALLERS', env),
    setting('--auth-tokenreview-timeout-ms', values['auth-tokenreview-timeout-ms'], 'FLEX_AUTH_AUTH_TOKENREVIEW_TIMEOUT_MS', env),
    setting('--auth-cache-ttl', values['auth-cache-ttl'], 'FLEX_AUTH_AUTH_CACHE_TTL', env),
  );
  const maxStalenessMs = maxStaleness(setting('--max-staleness', values['max-staleness'], 'FLEX_AUTH_MAX_STALENESS', env), registry);
  return {
    host, port, registry,
    ...(maxStalenessMs === undefined ? {} : { maxStalenessMs }),
    ...(authTokenFile === undefined ? {} : { authTokenFile: authTokenFile.value }),
    shutdownDelayMs: delay.seconds * 1000,
    ...(auditKeyFile === undefined ? {} : { auditKeyFile: auditKeyFile.value }),
    ...(review === undefined ? {} : { tokenReview: review }),
    ...(diagnosticPort === undefined ? {} : { diagnosticPort }),
  };
}

export async function serve(args: string[]): Promise<number> {
  const config = serveConfig(args);
  const logger = createLogger();
  // Loaded here rather than with the usage, which `flex-auth --help` reads for every command.
  const { startService } = await import('../main.js');
  const service = await startService(config, { logger, shutdownGraceMs: SHUTDOWN_GRACE_MS });
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal, delay_ms: config.shutdownDelayMs ?? 0 }, 'shutting down');
      // Whatever hangs, the process is gone within a bounded time.
      setTimeout(() => {
        logger.error('shutdown did not finish in time; exiting');
        process.exit(1);
      }, (config.shutdownDelayMs ?? 0) + SHUTDOWN_GRACE_MS + 5000).unref();
      service.close().then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'unclean shutdown');
        resolve();
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}
