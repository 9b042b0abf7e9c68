import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';

/** Exit codes shared by the commands: 0 allow/ok, 1 deny/invalid, 2 bad input or usage. */
export const EXIT = { ok: 0, negative: 1, badInput: 2 } as const;

/** A problem with how the command was called or with its input: exit 2 with this message. */
export class UsageError extends Error {}

/** Reads a file, or standard input for `-`. */
export async function readInput(path: string): Promise<string> {
  try {
    return path === '-' ? await text(process.stdin) : await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export function printJson(value: unknown, stream: NodeJS.WritableStream = process.stdout): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
}
