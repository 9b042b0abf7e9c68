/**
 * Durations as the contract defines them: a positive whole number of seconds, or a string
 * of `<int><unit>` parts in h, m, s order (`90s`, `15m`, `1h30m`). Unit-less strings,
 * fractions, zero and negatives are rejected so a caller's typo can never widen a grant.
 */

/** Ten years: far above any sane certificate lifetime, low enough to stay exact in a double. */
export const MAX_DURATION_SECONDS = 10 * 365 * 24 * 3600;

const DURATION_PATTERN = /^(?:(\d{1,9})h)?(?:(\d{1,9})m)?(?:(\d{1,9})s)?$/;

const DURATION_HINT = 'must be a positive whole number of seconds or a duration such as 90s, 15m, 1h30m';

export type DurationResult = { ok: true; seconds: number } | { ok: false; message: string };

/**
 * Parsed duration strings, shared: a registry repeats a handful (`1h`, `8h`) a hundred thousand
 * times, and so do requests. Bounded, since request strings are the caller's.
 */
const parsedStrings = new Map<string, DurationResult>();
const MAX_PARSED_STRINGS = 1024;

/**
 * Forgets every parsed string. For tests only (the mutation run calls it before each test): a
 * cached answer would hide a change in the parsing from the tests that follow.
 */
// Stryker disable next-line BlockStatement: a cache left full changes no answer, only what the next test runs.
export function forgetParsedDurations(): void {
  parsedStrings.clear();
}

export function parseDuration(value: unknown): DurationResult {
  // Stryker disable next-line ConditionalExpression: a number kept in the cache, keyed by itself, parses the same.
  if (typeof value !== 'string') return parseDurationValue(value);
  let result = parsedStrings.get(value);
  if (result === undefined) {
    if (parsedStrings.size >= MAX_PARSED_STRINGS) parsedStrings.clear();
    parsedStrings.set(value, (result = Object.freeze(parseDurationValue(value))));
  }
  return result;
}

function parseDurationValue(value: unknown): DurationResult {
  let seconds: number;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value <= 0) return { ok: false, message: DURATION_HINT };
    seconds = value;
  } else if (typeof value === 'string') {
    // A string of digits alone is the likeliest slip ("3600" for 3600 seconds): say how to write it.
    if (/^\d+$/.test(value) && Number(value) > 0) return { ok: false, message: `a duration string needs a unit (${value}s, or 1h30m and the like), or send the number ${value}` };
    const match = DURATION_PATTERN.exec(value);
    // The empty string matches with no part: it is refused below as zero seconds.
    if (!match) return { ok: false, message: DURATION_HINT };
    // Stryker disable next-line StringLiteral: a missing part read as '' is Number('') = 0 all the same.
    const [, h = '0', m = '0', s = '0'] = match;
    seconds = Number(h) * 3600 + Number(m) * 60 + Number(s);
    if (seconds <= 0) return { ok: false, message: DURATION_HINT };
  } else {
    return { ok: false, message: DURATION_HINT };
  }
  if (seconds > MAX_DURATION_SECONDS) {
    return { ok: false, message: `must be at most ${formatDuration(MAX_DURATION_SECONDS)}` };
  }
  return { ok: true, seconds };
}

/** Compact form used in messages: 5400 -> `1h30m`, 90 -> `1m30s`, 28800 -> `8h`. */
export function formatDuration(totalSeconds: number): string {
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].join('');
  return parts || '0s';
}
