import { readFileSync } from 'node:fs';
import type { Logger } from './logger.js';
import { auditKeyFrom } from './http/audit-chain.js';

/** Why the key file could not be used, in words that never contain the key. */
function keyFileFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES') return 'cannot be read (permission denied)';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return code !== undefined ? `cannot be read (${code})` : (error as Error).message;
}

/** Reads the audit key; throws `audit key file PATH <why>` (never the key) when it is missing, empty or short. */
export function readAuditKeyFile(file: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`audit key file ${file} ${keyFileFailure(error)}`);
  }
  try {
    return auditKeyFrom(text);
  } catch (error) {
    throw new Error(`audit key file ${file} ${(error as Error).message}`);
  }
}

/**
 * The key for the next checkpoint (beside `main.ts`, as the token file's follower is: http
 * reads no files): the file is read again for each one (a checkpoint comes at
 * most every 1,000 decisions, so this is cheap), so a rotated Secret is used from the next
 * checkpoint on. A file that cannot be used then keeps the last good key, and says so once per
 * failure, not once per checkpoint. Throws at once when the file is unusable now.
 */
export function followAuditKey(file: string, logger: Logger): () => Buffer {
  let key = readAuditKeyFile(file);
  let failing = false;
  return () => {
    try {
      key = readAuditKeyFile(file);
      failing = false;
    } catch (error) {
      if (!failing) logger.error({ error: (error as Error).message }, 'audit key file re-read failed; checkpoints keep the last good key');
      failing = true;
    }
    return key;
  };
}
