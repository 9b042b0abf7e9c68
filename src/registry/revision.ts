import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';

/** `sha256:` + hex SHA-256 of the canonical JSON, so re-formatting a file keeps its revision. */
export function revisionOf(document: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(document)).digest('hex')}`;
}
