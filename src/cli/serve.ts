import { parseArgs } from 'node:util';
import { createLogger } from '../logger.js';
import { startService } from '../main.js';
import type { RegistryLocation, ServiceConfig } from '../main.js';
import { parseDuration } from '../core/duration.js';
import { UsageError } from './io.js';

export const SERVE_USAGE = `flex-auth serve [--host 0.0.0.0] [--port 8080]
                [--registry-file PATH | --registry-configmap NAMESPACE/NAME] [--registry-key registry.json]
                [--auth-token-file PATH] [--shutdown-delay 0s] [--audit-key-file PATH]
                [--max-staleness DURATION]

  Settings may also come from FLEX_AUTH_HOST, FLEX_AUTH_PORT, FLEX_AUTH_REGISTRY_FILE,
  FLEX_AUTH_REGISTRY_CONFIGMAP, FLEX_AUTH_REGISTRY_KEY, FLEX_AUTH_AUTH_TOKEN_FILE,
  FLEX_AUTH_SHUTDOWN_DELAY and FLEX_AUTH_AUDIT_KEY_FILE; flags win. With no registry source, serves the embedded example
  registry. The ConfigMap is read through the Kubernetes API with KUBECONFIG, or the pod's
  service account. With --auth-token-file (bearer tokens, one a line), /v1/check requires
  Authorization: Bearer. On SIGTERM, stays up unready for --shutdown-delay, then drains.
  With --audit-key-file, keyed checkpoints seal the decision log's chain (flex-auth audit verify).
  --max-staleness (or FLEX_AUTH_MAX_STALENESS; ConfigMap source only; off by default): once the
  API server has not confirmed the registry for that long, /readyz is 503 and checks are
  denied with registry_stale until it answers again.`;

/** In-flight requests get this long after shutdown begins; the process exits by force soon after. */
const SHUTDOWN_GRACE_MS = 10_000;

const NAMESPACE_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const CONFIGMAP_NAME_PATTERN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const CONFIGMAP_KEY_PATTERN = /^[-._a-zA-Z0-9]{1,253}$/;

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
  if (rest.length > 0 || !NAMESPACE_PATTERN.test(namespace) || !CONFIGMAP_NAME_PATTERN.test(name)) {
    throw new UsageError(`${configMap.name} must be NAMESPACE/NAME, such as flex-auth/flex-auth-registry (got ${configMap.value})`);
  }
  if (!CONFIGMAP_KEY_PATTERN.test(key.value)) throw new UsageError(`${key.name} must be a ConfigMap key such as registry.json (got ${key.value})`);
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
    },
  });
  const host = values.host ?? env.FLEX_AUTH_HOST ?? '0.0.0.0';
  const portSetting = setting('--port', values.port, 'FLEX_AUTH_PORT', env, '8080');
  const port = Number(portSetting.value);
  if (!/^\d+$/.test(portSetting.value) || port > 65535) {
    throw new UsageError(`${portSetting.name} must be a whole number from 0 to 65535 (got ${portSetting.value})`);
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
  const maxStalenessMs = maxStaleness(setting('--max-staleness', values['max-staleness'], 'FLEX_AUTH_MAX_STALENESS', env), registry);
  return {
    host, port, registry,
    ...(maxStalenessMs === undefined ? {} : { maxStalenessMs }),
    ...(authTokenFile === undefined ? {} : { authTokenFile: authTokenFile.value }),
    shutdownDelayMs: delay.seconds * 1000,
    ...(auditKeyFile === undefined ? {} : { auditKeyFile: auditKeyFile.value }),
  };
}

export async function serve(args: string[]): Promise<number> {
  const config = serveConfig(args);
  const logger = createLogger();
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
