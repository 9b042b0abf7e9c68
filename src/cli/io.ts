import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';

/** Exit codes shared by the commands: 0 allow/ok, 1 deny/invalid, 2 bad input or usage. */
export const EXIT = { ok: 0, negative: 1, badInput: 2 } as const;

/** A problem with how the command was called: exit 2 with this message and the usage. */
export class UsageError extends Error {}

/** A problem with what the command was given (a missing or invalid file): exit 2 with this message. */
export class InputError extends Error {}

/** What a file system error code means to someone who typed a path. */
const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory, not a file',
  EACCES: 'permission denied',
  ENOTDIR: 'a part of the path is not a directory',
};

/** Why a path could not be read, in words: `no such file`, `is a directory, not a file`, ... */
export function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined ? FILE_ERRORS[code] : undefined) ?? (error as Error).message;
}

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
