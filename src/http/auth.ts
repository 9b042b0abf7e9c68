import { hash, timingSafeEqual } from 'node:crypto';
import type { AuthMethod, AuthOutcome, Metrics } from '../metrics.js';
import { HttpError } from './errors.js';

/** Shorter tokens are refused: a guessable token is no protection. */
export const MIN_TOKEN_LENGTH = 16;

export class UnauthorizedError extends HttpError {
  constructor() {
    // The challenge goes with the 401, as RFC 6750 asks.
    super('unauthorized', 401, 'missing or invalid bearer token', ['WWW-Authenticate', 'Bearer realm="flex-auth"']);
  }
}

/** A valid caller that is not on `--allowed-callers`: authenticated, so 403, not 401. */
export class ForbiddenError extends HttpError {
  constructor() {
    super('forbidden', 403, 'the caller is not allowed to ask flex-auth for decisions');
  }
}

/** The token could not be verified (the API server did not answer in time, or not sensibly): fail closed. */
export class AuthUnavailableError extends HttpError {
  constructor() {
    // An expected state in an outage, not a fault of this request: its message is shown, not logged per request.
    super('auth_unavailable', 503, 'the bearer token cannot be verified now (the Kubernetes API server did not answer); try again', [], true);
  }
}

/**
 * A bearer token's SHA-256, in hex: computed once per request and shared by the static tokens and
 * the authenticator's cache, since hashing a projected token (about 1 KB) costs microseconds.
 * Hex, not a Buffer: on Node 20 a one-shot hash straight to a Buffer costs about five times as
 * much (1.5 µs against 0.3 µs, measured).
 */
export function tokenDigest(token: string): string {
  return hash('sha256', token, 'hex');
}

function digest(value: string): Buffer {
  return Buffer.from(tokenDigest(value), 'hex');
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

/** The static tokens in force (`--auth-token-file`): the caller a bearer token proves, or undefined. */
export interface CallerProof {
  /** `hexDigest`: the token's `tokenDigest`. */
  callerOfDigest(hexDigest: string): string | undefined;
}

/**
 * The callers' bearer tokens, kept only as SHA-256 digests. A presented token is compared with
 * every digest in constant time, so neither timing nor early exit says how close a guess was.
 */
export class BearerTokens implements CallerProof {
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
    return this.callerOfDigest(tokenDigest(token));
  }

  callerOfDigest(hexDigest: string): string | undefined {
    const presented = Buffer.from(hexDigest, 'hex');
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

/** The token of `Bearer <token>`, or undefined for a missing or malformed header. */
function bearerToken(authorization: string | undefined): string | undefined {
  return BEARER.exec(authorization ?? '')?.[1];
}

/** What a token proves: a caller, or why not. */
export type Verdict =
  | { readonly outcome: 'allowed'; readonly caller: string }
  | { readonly outcome: Exclude<AuthOutcome, 'allowed'> };

/**
 * A proof of identity that an authority outside the process checks (Kubernetes TokenReview).
 * `verify` answers at once when it knows the token (cached) and with a promise otherwise; it
 * never rejects: an authority that cannot be asked is `unavailable`.
 */
export interface CallerAuthenticator {
  /** `hexDigest`: the token's `tokenDigest`, already computed for the static tokens. */
  verify(token: string, hexDigest: string): Verdict | Promise<Verdict>;
}

const UNAUTHENTICATED: Verdict = { outcome: 'unauthenticated' };
const UNAVAILABLE: Verdict = { outcome: 'unavailable' };

/**
 * Caller authentication in front of both lanes, for static tokens and an authenticator
 * together: a static token admits at once (its caller is its fingerprint); any other token
 * goes to the authenticator. Stateless apart from the authenticator's cache, so each lane holds
 * its own gate. Every result is counted by method and outcome.
 */
export class CallerGate {
  /** The method a missing or unknown token is counted under: the last one tried. */
  private readonly lastMethod: AuthMethod;

  constructor(
    private readonly tokens: (() => CallerProof) | undefined,
    private readonly authenticator: CallerAuthenticator | undefined,
    private readonly metrics: Metrics,
  ) {
    this.lastMethod = authenticator ? 'tokenreview' : 'static';
  }

  /**
   * The caller of a request with this `Authorization` header, or the refusal thrown (401, 403,
   * 503) as an `HttpError`. Synchronous unless an authority has to be asked (an uncached
   * TokenReview), so the check lane stays free of promises on its common path.
   */
  callerOf(authorization: string | undefined): string | Promise<string> {
    const token = bearerToken(authorization);
    if (token === undefined) return this.settle(this.lastMethod, UNAUTHENTICATED);
    const hexDigest = tokenDigest(token);
    const caller = this.tokens?.().callerOfDigest(hexDigest);
    if (caller !== undefined) return this.settle('static', { outcome: 'allowed', caller });
    if (!this.authenticator) return this.settle('static', UNAUTHENTICATED);
    const verdict = this.authenticator.verify(token, hexDigest);
    if (!(verdict instanceof Promise)) return this.settle('tokenreview', verdict);
    return verdict.then(
      (late) => this.settle('tokenreview', late),
      () => this.settle('tokenreview', UNAVAILABLE),
    );
  }

  private settle(method: AuthMethod, verdict: Verdict): string {
    this.metrics.recordAuth(method, verdict.outcome);
    switch (verdict.outcome) {
      case 'allowed': return verdict.caller;
      case 'forbidden': throw new ForbiddenError();
      case 'unavailable': throw new AuthUnavailableError();
      case 'unauthenticated': throw new UnauthorizedError();
    }
  }
}

/** The gate for the service's settings, or undefined when caller authentication is off (every caller is `anonymous`). */
export function callerGate({ tokens, authenticator, metrics }: { tokens?: () => CallerProof; authenticator?: CallerAuthenticator; metrics: Metrics }): CallerGate | undefined {
  return tokens || authenticator ? new CallerGate(tokens, authenticator, metrics) : undefined;
}
