import { ROOT_PATH } from './errors.js';

/**
 * JSON as the contract reads it: strict, so a key given twice is an error (JSON.parse would keep
 * the last, and `"disabled": false, ..., "disabled": true` would pass unnoticed), and an error
 * says where it is by line and column.
 */

/** Text that is not strict JSON: where (`path` in the document, `line` and `column` from 1) and why. */
export class JsonTextError extends Error {
  readonly path: string;
  readonly line: number;
  readonly column: number;

  constructor(problem: string, path: string, line: number, column: number) {
    super(`${problem} at line ${line}, column ${column}`);
    this.name = 'JsonTextError';
    this.path = path;
    this.line = line;
    this.column = column;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** An object's keys seen so far (`keys`) and the key being read, or an array's current index. */
interface Level {
  readonly keys: Set<string> | undefined;
  key: string;
  index: number;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `actors[3].ttl.max`, the form validation errors use; other keys as `["a key"]`. */
function pathOf(levels: readonly Level[], key: string): string {
  let path = '';
  const step = (level: Level, name: string): void => {
    if (level.keys === undefined) path += `[${level.index}]`;
    else if (IDENTIFIER.test(name)) path += path === '' ? name : `.${name}`;
    else path += `[${JSON.stringify(name)}]`;
  };
  for (let i = 0; i < levels.length - 1; i++) step(levels[i]!, levels[i]!.key);
  step(levels[levels.length - 1]!, key);
  return path;
}

/** Index of the quote that closes the string opened at `start`. */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

const COLON = 0x3a;

/** JSON's four whitespace characters. */
function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * How many member names `text` holds, counted without allocating: in valid JSON a string is a
 * member name exactly when the next character past its whitespace is a colon. NaN for a string
 * never closed (not JSON; no caller passes one, but it must not loop).
 */
export function memberNameCount(text: string): number {
  let count = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) {
    i = stringEnd(text, i);
    if (i === -1) return Number.NaN;
    let next = i + 1;
    while (isWhitespace(text.charCodeAt(next))) next++;
    if (text.charCodeAt(next) === COLON) count++;
  }
  return count;
}

/** Deeper than this, `ownKeyCount` gives up (NaN) rather than risk the stack; the scan then decides. */
const MAX_COUNTED_DEPTH = 64;

/** Own keys in a parsed value, all levels; NaN past `MAX_COUNTED_DEPTH`. */
export function ownKeyCount(value: unknown, depth = 0): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (depth > MAX_COUNTED_DEPTH) return Number.NaN;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) count += ownKeyCount(item, depth + 1);
    return count;
  }
  // for...in also walks inherited enumerable keys: a polluted prototype only makes the counts
  // differ, and the scan then decides.
  for (const key in value) count += 1 + ownKeyCount((value as Record<string, unknown>)[key], depth + 1);
  return count;
}

/**
 * The first key repeated within one object, with its path and offset. `text` must be valid
 * JSON (JSON.parse accepted it), so only strings, brackets and commas need telling apart.
 */
function firstDuplicateKey(text: string): { path: string; at: number } | undefined {
  const levels: Level[] = [];
  let level: Level | undefined;
  let expectKey = false;
  // Stryker disable next-line EqualityOperator: the character past the end reads as NaN, which is none of those looked for.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (expectKey) {
        const raw = text.slice(i + 1, end);
        // Stryker disable next-line StringLiteral: JSON.parse reads a key without escapes as it is written.
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        if (level!.keys!.has(key)) return { path: pathOf(levels, key), at: i };
        level!.keys!.add(key);
        level!.key = key;
        expectKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT) {
      // Stryker disable next-line StringLiteral: an object's key is read before anything inside it can need it.
      levels.push((level = { keys: new Set(), key: '', index: 0 }));
      expectKey = true;
    } else if (c === OPEN_ARRAY) {
      // Stryker disable next-line StringLiteral: an array has no key.
      levels.push((level = { keys: undefined, key: '', index: 0 }));
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      levels.pop();
      level = levels[levels.length - 1];
      expectKey = false;
    } else if (c === COMMA) {
      if (level!.keys === undefined) level!.index++;
      else expectKey = true;
    }
  }
  return undefined;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** Where JSON.parse stopped reading `text`: its message's position, the end, or undefined when it gives none. */
function reportedOffset(text: string): number | undefined {
  try {
    JSON.parse(text);
    // Stryker disable next-line UnaryOperator: no prefix of a text that fails without a position parses (a valid prefix is followed by a "character after JSON at position").
    return -1;
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message);
    if (position) return Number(position[1]);
    // Stryker disable next-line MethodExpression: the message is exactly that.
    return message.startsWith('Unexpected end of JSON input') ? text.length : undefined;
  }
}

/**
 * The offset of the first character JSON.parse cannot accept. Some of its messages name no
 * position; then the shortest prefix that fails before its own end ends at that character.
 */
function syntaxErrorOffset(text: string): number {
  const reported = reportedOffset(text);
  if (reported !== undefined) return reported;
  // A prefix either holds the bad character (then JSON.parse names no position) or fails at its
  // own end: no prefix fails at a position inside it, nor parses, so the search for the first
  // failing prefix comes out the same with these checks, or a start past the end, mutated.
  let low = 0;
  // Stryker disable next-line ArithmeticOperator
  let high = text.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    const offset = reportedOffset(text.slice(0, middle + 1));
    // Stryker disable next-line ConditionalExpression,EqualityOperator
    if (offset === undefined || (offset >= 0 && offset <= middle)) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** JSON.parse's complaint without the position and the text it quotes, which line and column replace. */
function syntaxProblem(message: string): string {
  // Stryker disable next-line Regex: without the `$` anchors, or with one digit, `.*` still takes the rest of the message.
  return message.replace(/ in JSON at position \d+.*$/s, '').replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, '');
}

/**
 * Parses JSON text, rejecting duplicate keys. Throws `JsonTextError`: for bad syntax at the
 * root path, for a duplicate key at that key's path, both with line and column. Costs one
 * JSON.parse, one count of the member names in the text and one of the keys in the value (see
 * docs/performance-history.md for the figures).
 */
export function parseJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const offset = syntaxErrorOffset(text);
    const { line, column } = lineAndColumn(text, offset);
    throw new JsonTextError(syntaxProblem((error as Error).message), ROOT_PATH, line, column);
  }
  // Stryker disable next-line ConditionalExpression,LogicalOperator: a scalar has no keys, so scanning it finds no duplicate.
  if (typeof value !== 'object' || value === null) return value;
  // JSON.parse keeps one key of each repeated name, so the text names exactly as many members as
  // the value has keys when no key repeats: that is the check, and it allocates nothing. Only
  // when the counts differ does the scan run to find and name the duplicate.
  // Stryker disable next-line ConditionalExpression: never taking the fast check only has the scan decide every text, the same answers
  if (memberNameCount(text) === ownKeyCount(value)) return value;
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) {
    const { line, column } = lineAndColumn(text, duplicate.at);
    throw new JsonTextError('duplicate key', duplicate.path, line, column);
  }
  return value;
}
