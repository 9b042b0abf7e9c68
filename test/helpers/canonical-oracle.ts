import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';

/**
 * The canonical JSON the contract defines (object keys sorted recursively, no insignificant
 * whitespace) and the revision made from it, computed by a library rather than by src/: the one
 * oracle the tests compare the service's fast writers and its revisions with.
 */
export function canonicalJson(value: unknown): string {
  return stringify(value) ?? 'null';
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `sha256:` + the hex SHA-256 of the canonical JSON of a parsed registry document. */
export function revisionOf(document: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(document))}`;
}
