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

  accepts(token: string): boolean {
    const presented = digest(token);
    let matched = false;
    for (const known of this.digests) matched = timingSafeEqual(presented, known) || matched;
    return matched;
  }
}

/** The scheme is case-insensitive (RFC 7235); the token is one run of non-space characters. */
const BEARER = /^bearer +([^\s]+)$/i;

/** Throws `UnauthorizedError` unless `authorization` is `Bearer <token>` with a current token. */
export function authenticate(authorization: string | undefined, tokens: BearerTokens): void {
  const match = BEARER.exec(authorization ?? '');
  if (!match || !tokens.accepts(match[1]!)) throw new UnauthorizedError();
}
