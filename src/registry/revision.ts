import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';

/** Canonical JSON: object keys sorted recursively, no insignificant whitespace. */
export function canonicalJson(value: unknown): string {
  return stringify(value) ?? 'null';
}

/** `sha256:` + hex SHA-256 of the canonical JSON, so re-formatting a file keeps its revision. */
export function revisionOf(document: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(document)).digest('hex')}`;
}
