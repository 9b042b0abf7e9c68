import { readFile } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import { decodeUtf8Strictly } from '../core/utf8.js';
import { readFailure } from '../sources/read-failure.js';

export { readFailure };

/** Exit codes shared by the commands: 0 allow/ok, 1 deny/invalid, 2 bad input or usage. */
export const EXIT = { ok: 0, negative: 1, badInput: 2 } as const;

/** A problem with how the command was called: exit 2 with this message and the usage. */
export class UsageError extends Error {}

/** A problem with what the command was given (a missing or invalid file): exit 2 with this message. */
export class InputError extends Error {}

/**
 * Reads a file, or standard input for `-`, as UTF-8 text. Bytes that are not UTF-8 are refused
 * rather than replaced, as the service refuses them, so a file the CLI accepts is one it serves.
 */
export async function readInput(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = path === '-' ? await buffer(process.stdin) : await readFile(path);
  } catch (error) {
    throw new InputError(`cannot read ${path}: ${readFailure(error)}`);
  }
  try {
    return decodeUtf8Strictly(bytes);
  } catch {
    throw new InputError(`${path === '-' ? 'standard input' : path} is not valid UTF-8`);
  }
}

export function printJson(value: unknown, stream: NodeJS.WritableStream = process.stdout): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
}
