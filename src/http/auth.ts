import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './errors.js';

/** Shorter tokens are refused: a guessable token is no protection. */
export const MIN_TOKEN_LENGTH = 16;

export class UnauthorizedError extends HttpError {
  constructor() {
    // The challenge goes with the 401, as RFC 6750 asks.
    super('unauthorized', 401, 'missing or invalid bearer token', ['WWW-Authenticate', 'Bearer realm="flex-auth"']);
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The caller name of a token in the decision log: `token:` and the first 8 hex digits of its
 * SHA-256. A fingerprint: it tells tokens apart and stays the same across restarts and token
 * file edits, and it never reveals the token (tokens are at least 16 characters, so 32 bits of
 * their hash do not help to guess one).
 */
function callerName(tokenDigest: Buffer): string {
  return `token:${tokenDigest.toString('hex', 0, 4)}`;
}

/**
 * The callers' bearer tokens, kept only as SHA-256 digests. A presented token is compared with
 * every digest in constant time, so neither timing nor early exit says how close a guess was.
 */
export class BearerTokens {
  private readonly digests: readonly Buffer[];

  private constructor(digests: Buffer[]) {
    this.digests = digests;
  }

  get size(): number {
    return this.digests.length;
  }

  /**
   * One token a line; blank lines and `#` comments are ignored. Throws, naming the line but
   * never its content, when a token is too short or contains whitespace.
   */
  static parse(text: string): BearerTokens {
    const digests: Buffer[] = [];
    text.split(/\r?\n/).forEach((raw, index) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      if (line.length < MIN_TOKEN_LENGTH || /\s/.test(line)) {
        throw new Error(`line ${index + 1}: a token must be at least ${MIN_TOKEN_LENGTH} characters with no whitespace`);
      }
      digests.push(digest(line));
    });
    return new BearerTokens(digests);
  }

  /** The caller name of a current token (see `callerName`), or undefined. */
  callerOf(token: string): string | undefined {
    const presented = digest(token);
    let matched = false;
    for (const known of this.digests) matched = timingSafeEqual(presented, known) || matched;
    return matched ? callerName(presented) : undefined;
  }

  accepts(token: string): boolean {
    return this.callerOf(token) !== undefined;
  }
}

/** The caller of a check when caller authentication is off. */
export const ANONYMOUS = 'anonymous';

/** The scheme is case-insensitive (RFC 7235); the token is one run of non-space characters. */
const BEARER = /^bearer +([^\s]+)$/i;

/**
 * The caller's name when `authorization` is `Bearer <token>` with a current token; throws
 * `UnauthorizedError` otherwise.
 */
export function authenticate(authorization: string | undefined, tokens: BearerTokens): string {
  const match = BEARER.exec(authorization ?? '');
  const caller = match ? tokens.callerOf(match[1]!) : undefined;
  if (caller === undefined) throw new UnauthorizedError();
  return caller;
}
