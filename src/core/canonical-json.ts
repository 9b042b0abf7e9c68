import { stringify } from 'safe-stable-stringify';

/** Printable ASCII but `"` and `\`: such a string's JSON literal is the string in quotes. */
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * A string's JSON literal, as JSON.stringify writes it, without the call for the plain ids and
 * names a check is made of: on a hot path, a flat string also hashes and writes faster.
 */
export function jsonString(value: string): string {
  return PLAIN_STRING.test(value) ? '"' + value + '"' : JSON.stringify(value);
}

/** Keys a JavaScript object enumerates in numeric order, whatever order they were added in. */
const INTEGER_KEY = /^(?:0|[1-9]\d*)$/;

class IntegerKeys extends Error {}

/** A null-prototype copy with sorted keys, so that even a `__proto__` key stays a plain key. */
function sortedCopy(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const sorted: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value).sort()) {
    if (INTEGER_KEY.test(key)) throw new IntegerKeys();
    sorted[key] = (value as Record<string, unknown>)[key];
  }
  return sorted;
}

/**
 * Canonical JSON: object keys sorted recursively, no insignificant whitespace. The platform's
 * JSON.stringify with a sorting replacer is two to three times faster than a library on a
 * 100,000-actor registry; an object with integer-like keys (which no valid registry has) would
 * enumerate in the wrong order, so it goes to safe-stable-stringify instead.
 */
export function canonicalJson(value: unknown): string {
  try {
    return JSON.stringify(value, sortedCopy) ?? 'null';
  } catch (error) {
    if (error instanceof IntegerKeys) return stringify(value) ?? 'null';
    throw error;
  }
}
