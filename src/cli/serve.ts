import { parseArgs } from 'node:util';
import { createLogger } from '../logger.js';
import { startService } from '../main.js';
import type { RegistryLocation, ServiceConfig } from '../main.js';
import { parseDuration } from '../core/duration.js';
import { UsageError } from './io.js';

export const SERVE_USAGE = `flex-auth serve [--host 0.0.0.0] [--port 8080]
                [--registry-file PATH | --registry-configmap NAMESPACE/NAME] [--registry-key registry.json]
                [--auth-token-file PATH] [--shutdown-delay 0s]

  Settings may also come from FLEX_AUTH_HOST, FLEX_AUTH_PORT, FLEX_AUTH_REGISTRY_FILE,
  FLEX_AUTH_REGISTRY_CONFIGMAP, FLEX_AUTH_REGISTRY_KEY, FLEX_AUTH_AUTH_TOKEN_FILE and
  FLEX_AUTH_SHUTDOWN_DELAY; flags win. With no registry source, serves the embedded example
  registry. The ConfigMap is read through the Kubernetes API with KUBECONFIG, or the pod's
  service account. With --auth-token-file (bearer tokens, one a line), /v1/check requires
  Authorization: Bearer. On SIGTERM, stays up unready for --shutdown-delay, then drains.`;

/** In-flight requests get this long after shutdown begins; the process exits by force soon after. */
const SHUTDOWN_GRACE_MS = 10_000;

const NAMESPACE_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const CONFIGMAP_NAME_PATTERN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const CONFIGMAP_KEY_PATTERN = /^[-._a-zA-Z0-9]{1,253}$/;

function registryLocation(file: string | undefined, configMap: string | undefined, key: string): RegistryLocation {
  if (file !== undefined && configMap !== undefined) {
    throw new UsageError('give either --registry-file or --registry-configmap, not both');
  }
  if (file !== undefined) {
    if (file === '') throw new UsageError('--registry-file must not be empty');
    return { kind: 'file', path: file };
  }
  if (configMap === undefined) return { kind: 'embedded' };
  const [namespace = '', name = '', ...rest] = configMap.split('/');
  if (rest.length > 0 || !NAMESPACE_PATTERN.test(namespace) || !CONFIGMAP_NAME_PATTERN.test(name)) {
    throw new UsageError(`--registry-configmap must be NAMESPACE/NAME, such as flex-auth/flex-auth-registry (got ${configMap})`);
  }
  if (!CONFIGMAP_KEY_PATTERN.test(key)) throw new UsageError(`--registry-key must be a ConfigMap key such as registry.json (got ${key})`);
  return { kind: 'configmap', namespace, name, key };
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
    },
  });
  const host = values.host ?? env.FLEX_AUTH_HOST ?? '0.0.0.0';
  const portText = values.port ?? env.FLEX_AUTH_PORT ?? '8080';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535 (got ${portText})`);
  // A flag for one source overrides the environment's setting for the other.
  const fileFlag = values['registry-file'];
  const configMapFlag = values['registry-configmap'];
  const fromFlags = fileFlag !== undefined || configMapFlag !== undefined;
  const registry = registryLocation(
    fromFlags ? fileFlag : env.FLEX_AUTH_REGISTRY_FILE,
    fromFlags ? configMapFlag : env.FLEX_AUTH_REGISTRY_CONFIGMAP,
    values['registry-key'] ?? env.FLEX_AUTH_REGISTRY_KEY ?? 'registry.json',
  );
  const authTokenFile = values['auth-token-file'] ?? env.FLEX_AUTH_AUTH_TOKEN_FILE;
  if (authTokenFile === '') throw new UsageError('--auth-token-file must not be empty');
  const delayText = values['shutdown-delay'] ?? env.FLEX_AUTH_SHUTDOWN_DELAY ?? '0';
  const delay = /^0s?$/.test(delayText) ? { ok: true as const, seconds: 0 } : parseDuration(/^\d+$/.test(delayText) ? Number(delayText) : delayText);
  if (!delay.ok || delay.seconds > 300) throw new UsageError(`--shutdown-delay must be a duration from 0s to 5m (got ${delayText})`);
  return {
    host, port, registry,
    ...(authTokenFile === undefined ? {} : { authTokenFile }),
    shutdownDelayMs: delay.seconds * 1000,
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
