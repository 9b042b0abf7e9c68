import { createHash } from 'node:crypto';
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

/** A copy whose objects have their keys added in sorted order, so JSON.stringify writes them so. */
function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(sortedCopy);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    if (INTEGER_KEY.test(key)) throw new IntegerKeys();
    const item = sortedCopy((value as Record<string, unknown>)[key]);
    // A `__proto__` key stays a plain key, never the copy's prototype.
    if (key === '__proto__') Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
    else copy[key] = item;
  }
  return copy;
}

/**
 * Canonical JSON of JSON data (what JSON.parse returns): object keys sorted recursively, no
 * insignificant whitespace. A sorted copy written by the platform's JSON.stringify is several
 * times faster than a library on a 100,000-actor registry; an object with integer-like keys
 * (which no valid registry has) would enumerate in the wrong order, so it goes to
 * safe-stable-stringify instead.
 */
export function canonicalJson(value: unknown): string {
  try {
    return JSON.stringify(sortedCopy(value)) ?? 'null';
  } catch (error) {
    if (error instanceof IntegerKeys) return stringify(value) ?? 'null';
    throw error;
  }
}

/**
 * SHA-256 of text written in pieces, hashed in chunks as it comes: a large registry's canonical
 * text is never held whole.
 */
export class ChunkedSha256 {
  private static readonly CHUNK_CHARS = 64 * 1024;
  private readonly hash = createHash('sha256');
  private pending = '';

  put(text: string): void {
    this.pending += text;
    if (this.pending.length >= ChunkedSha256.CHUNK_CHARS) {
      this.hash.update(this.pending);
      this.pending = '';
    }
  }

  /** Hex digest of everything put. */
  digest(): string {
    this.hash.update(this.pending);
    this.pending = '';
    return this.hash.digest('hex');
  }
}

/** Levels written piece by piece: the document and its lists; below that, whole items. */
const STREAMED_LEVELS = 2;

/** Hex SHA-256 of `canonicalJson(value)`; each item's sorted copy is garbage at once. */
export function canonicalJsonSha256(value: unknown): string {
  const hash = new ChunkedSha256();
  writeCanonical(value, hash, STREAMED_LEVELS);
  return hash.digest();
}

function writeCanonical(value: unknown, out: ChunkedSha256, levels: number): void {
  if (levels === 0 || value === null || typeof value !== 'object') {
    out.put(canonicalJson(value));
    return;
  }
  if (Array.isArray(value)) {
    out.put('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.put(',');
      writeCanonical(value[i], out, levels - 1);
    }
    out.put(']');
    return;
  }
  // Keys in sorted order, as canonicalJson writes them; skipped where JSON.stringify skips them.
  out.put('{');
  let first = true;
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    out.put(`${first ? '' : ','}${JSON.stringify(key)}:`);
    first = false;
    writeCanonical(item, out, levels - 1);
  }
  out.put('}');
}
