import { BearerTokens } from './http/auth.js';
import type { Logger } from './logger.js';
import { FileWatcher } from './sources/file-watcher.js';

export interface TokenFile {
  /** The tokens in force now. */
  readonly current: () => BearerTokens;
  readonly stop: () => Promise<void>;
}

/**
 * Reads and follows the callers' token file. It sits beside `main.ts`, the one layer that may
 * use both http (`BearerTokens`) and sources (`FileWatcher`). The service does not start
 * without a valid, non-empty file, and then says so in one error; later, an invalid or
 * unreadable file keeps the tokens in force, and a file emptied on purpose refuses every static
 * token (fail closed): every caller, unless `withTokenReview` (callers proven by TokenReview are
 * still admitted, and the warning says so).
 */
export async function followTokenFile(file: string, logger: Logger, { withTokenReview = false } = {}): Promise<TokenFile> {
  let tokens: BearerTokens | undefined;
  let started = false;
  let startupError: string | undefined;
  const report = (message: string) => {
    if (started) logger.error({ file, error: message }, 'auth token file reload failed; keeping the tokens in force');
    else startupError = message;
  };
  const loaded = (count: number) => {
    logger.info({ file, tokens: count }, 'auth tokens loaded');
    if (count === 0) {
      logger.warn({ file }, withTokenReview
        ? 'auth token file has no tokens: static tokens are refused; callers proven by TokenReview are still admitted'
        : 'auth token file has no tokens: every check will be refused');
    }
  };
  const watcher = new FileWatcher(file, {
    onBytes: (bytes) => {
      try {
        tokens = BearerTokens.parse(bytes.toString('utf8'));
      } catch (error) {
        return report((error as Error).message);
      }
      if (started) loaded(tokens.size);
    },
    onError: report,
  }, { logger });
  await watcher.start().catch((error: Error) => report(error.message));
  // At start-up an empty file is a mistake (a Secret not mounted), not a decision to lock out.
  if (!tokens || tokens.size === 0) {
    await watcher.stop();
    throw new Error(startupError !== undefined
      ? `auth token file ${file}: ${startupError}`
      : `auth token file ${file} has no tokens; refusing to start (write at least one token, one a line)`);
  }
  started = true;
  loaded(tokens.size);
  return { current: () => tokens!, stop: () => watcher.stop() };
}
