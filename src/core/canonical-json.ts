import { createHash } from 'node:crypto';

/**
 * Pieces of canonical JSON (keys sorted, no whitespace) for the writers of fixed shapes:
 * `revisionOfValid` and `canonicalDecisionInput`. Any other value is written by
 * safe-stable-stringify (`revisionOf`).
 */

/** Printable ASCII but `"` and `\`: such a string's JSON literal is the string in quotes. */
export const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/*
 * Plain by construction. The hot writers (the reply, the decision line, the decision id's
 * input) put some strings between quotes with no test at all, because every value they can
 * hold is plain: a decision id (`decision:` + hex), a registry revision (`sha256:` + hex), a
 * request id (REQUEST_ID_PATTERN or a UUID), a principal (PRINCIPAL_PATTERN, in the registry
 * and in requests), a reason, a policy name, a certificate type or extension (fixed lists).
 * The test costs more than the quotes (30 of them a check were 1.8 µs of its CPU), and
 * test/unit/core/plain-by-construction.test.ts checks that each of those forms and lists
 * admits no other character. Anything a caller or a registry writes freely (an action, a
 * resource, a subject, a caller's name, a forced command) still goes through `jsonString`.
 */

/**
 * A string's JSON literal, as JSON.stringify writes it, without the call for the plain ids and
 * names a check is made of: on a hot path, a flat string also hashes and writes faster.
 */
export function jsonString(value: string): string {
  return PLAIN_STRING.test(value) ? '"' + value + '"' : JSON.stringify(value);
}

/** The JSON list of strings plain by construction (above): no test; a loop, as a join cost more for the one or two a check holds. */
export function plainJsonList(values: readonly string[]): string {
  let list = '[';
  for (let i = 0; i < values.length; i++) list += (i === 0 ? '"' : ',"') + values[i]! + '"';
  return `${list}]`;
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
