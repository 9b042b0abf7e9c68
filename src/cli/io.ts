import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { readFailure } from '../sources/read-failure.js';

export { readFailure };

/** Exit codes shared by the commands: 0 allow/ok, 1 deny/invalid, 2 bad input or usage. */
export const EXIT = { ok: 0, negative: 1, badInput: 2 } as const;

/** A problem with how the command was called: exit 2 with this message and the usage. */
export class UsageError extends Error {}

/** A problem with what the command was given (a missing or invalid file): exit 2 with this message. */
export class InputError extends Error {}

/** Reads a file, or standard input for `-`. */
export async function readInput(path: string): Promise<string> {
  try {
    return path === '-' ? await text(process.stdin) : await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read ${path}: ${readFailure(error)}`);
  }
}

export function printJson(value: unknown, stream: NodeJS.WritableStream = process.stdout): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
}
