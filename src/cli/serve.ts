import { parseArgs } from 'node:util';
import { createLogger } from '../logger.js';
import { startService } from '../main.js';
import type { ServiceConfig } from '../main.js';
import { UsageError } from './io.js';

export const SERVE_USAGE = `flex-auth serve [--host 0.0.0.0] [--port 8080] [--registry-file PATH]

  Settings may also come from FLEX_AUTH_HOST, FLEX_AUTH_PORT and FLEX_AUTH_REGISTRY_FILE;
  flags win. With no registry source, serves the embedded example registry.`;

/** Flags over `FLEX_AUTH_*` environment over defaults. */
export function serveConfig(args: string[], env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'registry-file': { type: 'string' },
    },
  });
  const host = values.host ?? env.FLEX_AUTH_HOST ?? '0.0.0.0';
  const portText = values.port ?? env.FLEX_AUTH_PORT ?? '8080';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535 (got ${portText})`);
  const file = values['registry-file'] ?? env.FLEX_AUTH_REGISTRY_FILE;
  if (file === '') throw new UsageError('--registry-file must not be empty');
  return { host, port, registry: file === undefined ? { kind: 'embedded' } : { kind: 'file', path: file } };
}

export async function serve(args: string[]): Promise<number> {
  const config = serveConfig(args);
  const logger = createLogger();
  const service = await startService(config, { logger });
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'shutting down');
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
