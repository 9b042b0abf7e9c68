/**
 * The suites' own canonical JSON and revision (contract section 2), written here rather than
 * imported from the code under test, so a test compares the server against an independent
 * reading of the contract.
 */
import { createHash } from 'node:crypto';

/** Object keys sorted recursively (by UTF-16 code units), no insignificant whitespace. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).filter((key) => record[key] !== undefined).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `sha256:` + hex SHA-256 of the canonical JSON. */
export function expectedRevision(document: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(document)).digest('hex')}`;
}
