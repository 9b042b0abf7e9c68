import { AuthenticationV1Api, Observable, ResponseContext, SelfDecodingBody } from '@kubernetes/client-node';
import type { KubeConfig, ObservableMiddleware } from '@kubernetes/client-node';
import { isPlainObject } from './core/json-shape.js';
import { tokenDigest } from './http/auth.js';
import type { CallerAuthenticator, Verdict } from './http/auth.js';
import type { Logger } from './logger.js';
import { loadKubeConfig, timeoutOptions } from './sources/configmap.js';

/** What the API server said of a token, as far as flex-auth reads it. */
export interface ReviewAnswer {
  readonly authenticated: boolean;
  readonly username?: string;
  readonly audiences: readonly string[];
}

/** Asks the authority about one token; rejects when it cannot be asked or answers nonsense. */
export type Review = (token: string) => Promise<ReviewAnswer>;

/** Why a review failed, in words that never hold the token (an API error's message may echo the request). */
export class ReviewFailure extends Error {}

export const DEFAULT_REVIEW_TIMEOUT_MS = 2000;
export const MAX_CACHE_TTL_MS = 60_000;
/** Allowed verdicts kept at most: ops-warden's tokens (one per pod per rotation), with room to spare. */
export const DEFAULT_CACHE_ENTRIES = 10_000;
/** Forbidden verdicts kept at most, apart from the allowed ones so they can never push those out. */
export const DEFAULT_FORBIDDEN_ENTRIES = 1_000;
/** How long an invalid token's verdict is kept: long enough to absorb a client retrying with it. */
export const INVALID_TTL_MS = 10_000;
/** Invalid verdicts kept at most, apart from the others so junk tokens can never push those out. */
export const DEFAULT_INVALID_ENTRIES = 1_000;
/**
 * Reviews in flight at most. Anyone who reaches the port can send a new junk token with each
 * request; unbounded, they would each start a review and could get the API server to throttle
 * flex-auth (429), and then ops-warden's fresh token could not be verified either.
 */
export const DEFAULT_MAX_IN_FLIGHT = 32;

/**
 * A Kubernetes ServiceAccount token is a JWT (JWS compact form): three base64url parts, dots
 * between. Nothing else can pass a review, so nothing else is worth one.
 */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * TokenReview (authentication.k8s.io/v1) through the Kubernetes API, with a deadline on each
 * call (reading the answer's body included). The token goes only into the request body. The
 * answer is judged from its raw bytes, not from the client library's model: the library's
 * deserializer rebuilds any `status` into an object and a string into a list of letters, so a
 * nonsense answer would look like "not authenticated" (401) instead of "cannot verify" (503).
 * An answer that is not a TokenReview fails the review, as a timeout or an error status does.
 */
export function kubeTokenReview(audience: string, timeoutMs: number, kubeConfig: KubeConfig = loadKubeConfig()): Review {
  const api = kubeConfig.makeApiClient(AuthenticationV1Api);
  return async (token) => {
    const raw = rawAnswer();
    const options = timeoutOptions(timeoutMs);
    try {
      await api.createTokenReview(
        { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [audience] } } },
        { ...options, middleware: [...(options.middleware ?? []), raw.middleware] },
      );
    } catch (error) {
      // A 2xx answer the library could not read (not JSON, say) is judged below from its bytes.
      if (!raw.succeeded()) throw new ReviewFailure(describeFailure(error, token));
    }
    return readAnswer(raw.bytes());
  };
}

/**
 * A middleware that keeps the answer's status code and bytes, and hands the library a body over
 * the same bytes (a body can be read only once), so the library still parses it as before.
 */
function rawAnswer(): { middleware: ObservableMiddleware; succeeded: () => boolean; bytes: () => Buffer } {
  let kept: { status: number; bytes: Buffer } | undefined;
  const middleware: ObservableMiddleware = {
    pre: (request) => new Observable(Promise.resolve(request)),
    post: (response) => new Observable((async () => {
      const bytes = await response.body.binary();
      kept = { status: response.httpStatusCode, bytes };
      return new ResponseContext(response.httpStatusCode, response.headers, new SelfDecodingBody(Promise.resolve(bytes)));
    })()),
  };
  return {
    middleware,
    succeeded: () => kept !== undefined && kept.status >= 200 && kept.status <= 299,
    bytes: () => {
      if (kept === undefined) throw new ReviewFailure('the API server gave no answer');
      return kept.bytes;
    },
  };
}

/**
 * The status code of an API error (never its body: an answer may echo the token), or the
 * failure's message with the token cut out, should it hold it.
 */
function describeFailure(error: unknown, token: string): string {
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === 'number') return `the API server answered ${code}`;
  if (name === 'AbortError' || name === 'TimeoutError') return 'no answer within the deadline';
  return `the API server could not be asked: ${String(message ?? error).split(token).join('[token]')}`;
}

/** Reads a TokenReview from the answer's bytes; every failure's message is fixed text, never a piece of the answer. */
function readAnswer(bytes: Buffer): ReviewAnswer {
  let answer: unknown;
  try {
    answer = JSON.parse(bytes.toString('utf8'));
  } catch {
    // Not the SyntaxError's message: it quotes the body's first characters, which may be the token.
    throw new ReviewFailure('the answer is not JSON');
  }
  if (!isPlainObject(answer) || answer.kind !== 'TokenReview' || answer.apiVersion !== 'authentication.k8s.io/v1') {
    throw new ReviewFailure('the answer is not a TokenReview (authentication.k8s.io/v1)');
  }
  const { status } = answer;
  if (!isPlainObject(status)) throw new ReviewFailure('status is not an object');
  const { authenticated, user, audiences } = status;
  if (authenticated !== undefined && typeof authenticated !== 'boolean') throw new ReviewFailure('status.authenticated is not a boolean');
  if (audiences !== undefined && !(Array.isArray(audiences) && audiences.every((a) => typeof a === 'string'))) {
    throw new ReviewFailure('status.audiences is not a list of strings');
  }
  if (authenticated !== true) return { authenticated: false, audiences: [] };
  const username = isPlainObject(user) ? user.username : undefined;
  if (typeof username !== 'string' || username === '') throw new ReviewFailure('an authenticated status has no user.username');
  return { authenticated: true, username, audiences: (audiences as string[] | undefined) ?? [] };
}

/**
 * The `exp` claim of a JWT in milliseconds since the epoch, or undefined. Read without checking
 * the signature, so it is used only to shorten how long a verdict is kept, never to accept.
 */
export function tokenExpiryMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown } | null)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export interface TokenReviewOptions {
  readonly audience: string;
  /** Reviewed usernames that may ask for decisions; any other valid caller is refused 403. */
  readonly allowedCallers: readonly string[];
  readonly review: Review;
  readonly logger: Logger;
  /** Wall-clock milliseconds since the epoch, for a token's `exp` only: Date.now unless a test moves time by hand. */
  readonly clock?: () => number;
  /**
   * Monotonic milliseconds, for how long a verdict has been kept: performance.now unless a test
   * moves time by hand. Not the wall clock, which a step back would stretch the 60 s bound with.
   */
  readonly monotonic?: () => number;
  /** The longest a verdict is kept (at most 60 s); a token's expiry shortens it. */
  readonly cacheTtlMs?: number;
  /** Allowed verdicts kept at most. */
  readonly maxEntries?: number;
  /** Forbidden verdicts kept at most (in a map of their own). */
  readonly maxForbiddenEntries?: number;
  /** Reviews in flight at most; beyond, an uncached token is refused at once (unavailable). */
  readonly maxInFlight?: number;
  /** Invalid verdicts kept at most (in a map of their own, for 10 s at most). */
  readonly maxInvalidEntries?: number;
}

/** The verdicts kept: the answers of a review. A failed review (`unavailable`) is never kept. */
type KeptOutcome = 'allowed' | 'forbidden' | 'unauthenticated';

interface Entry {
  readonly verdict: Verdict;
  /** Monotonic time the verdict is kept until. */
  readonly keptUntil: number;
  /** The token's `exp` (wall clock), when it has one. */
  readonly expiresAt: number | undefined;
}

/** Kept verdicts of one kind, at most `maxEntries` of them: when full, the oldest goes first. */
class KeptVerdicts {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  set(key: string, entry: Entry): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, entry);
  }
}

/**
 * Callers proven by Kubernetes TokenReview: the token must be shaped as a JWT (else it is
 * refused without a review), authenticated for the audience (which the answer must name back,
 * or the API server did not check it) and its username on the allow-list.
 *
 * Verdicts are kept by the token's SHA-256 (never the token): allowed and forbidden ones until
 * the token expires (wall clock) and at most `cacheTtlMs` (monotonic clock); invalid ones the
 * same way but for 10 s at most, to absorb a client retrying with a bad token. Each kind has a
 * bounded map of its own (the oldest goes first), so many forbidden or junk tokens never push
 * an allowed verdict out. Never kept: a review that failed; an unverifiable token is refused
 * 503 each time until the API server answers again (fail closed).
 *
 * Concurrent checks with one uncached token share one review, and at most `maxInFlight`
 * reviews are pending: beyond, an uncached token is refused at once as unavailable (503, fail
 * closed), without asking.
 */
export class TokenReviewAuthenticator implements CallerAuthenticator {
  private readonly options: TokenReviewOptions;
  private readonly allowed: ReadonlySet<string>;
  private readonly clock: () => number;
  private readonly monotonic: () => number;
  private readonly ttlMs: number;
  private readonly kept: Readonly<Record<KeptOutcome, KeptVerdicts>>;
  /** The same maps in lookup order, allowed first (ops-warden's checks), without an array per lookup. */
  private readonly keptInOrder: readonly KeptVerdicts[];
  private readonly inFlight = new Map<string, Promise<Verdict>>();
  private readonly maxInFlight: number;
  /** Tokens refused since the limit was reached: the log says so once per episode, with this count at its end. */
  private refusedOverLimit = 0;
  /** Whether the last review failed: the log says so once per outage, not once per check. */
  private failing = false;

  constructor(options: TokenReviewOptions) {
    this.options = options;
    this.allowed = new Set(options.allowedCallers);
    this.clock = options.clock ?? Date.now;
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.ttlMs = Math.min(options.cacheTtlMs ?? MAX_CACHE_TTL_MS, MAX_CACHE_TTL_MS);
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.kept = {
      allowed: new KeptVerdicts(options.maxEntries ?? DEFAULT_CACHE_ENTRIES),
      forbidden: new KeptVerdicts(options.maxForbiddenEntries ?? DEFAULT_FORBIDDEN_ENTRIES),
      unauthenticated: new KeptVerdicts(options.maxInvalidEntries ?? DEFAULT_INVALID_ENTRIES),
    };
    this.keptInOrder = [this.kept.allowed, this.kept.forbidden, this.kept.unauthenticated];
  }

  /** Tokens with a kept verdict (expired ones included until they are next looked up or pushed out). */
  get cached(): number {
    return this.keptInOrder.reduce((sum, kept) => sum + kept.size, 0);
  }

  /** `key`: the token's SHA-256 in hex (the gate has computed it already). */
  verify(token: string, key: string = tokenDigest(token)): Verdict | Promise<Verdict> {
    const kept = this.keptVerdict(key);
    if (kept !== undefined) return kept;
    // After the cache: a kept token has passed this already, so the common check pays nothing for it.
    if (!JWT_SHAPE.test(token)) return { outcome: 'unauthenticated' };
    let pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    if (this.inFlight.size >= this.maxInFlight) return this.refuseOverLimit();
    pending = this.review(token, key).finally(() => this.settled(key));
    this.inFlight.set(key, pending);
    return pending;
  }

  private refuseOverLimit(): Verdict {
    if (this.refusedOverLimit === 0) {
      this.options.logger.warn({ max_in_flight: this.maxInFlight }, 'TokenReview concurrency limit reached: refusing uncached tokens without asking (503 auth_unavailable)');
    }
    this.refusedOverLimit += 1;
    return { outcome: 'unavailable' };
  }

  private settled(key: string): void {
    this.inFlight.delete(key);
    if (this.refusedOverLimit === 0) return;
    this.options.logger.info({ refused: this.refusedOverLimit }, 'TokenReview concurrency limit no longer reached');
    this.refusedOverLimit = 0;
  }

  private async review(token: string, key: string): Promise<Verdict> {
    let answer: ReviewAnswer;
    try {
      answer = await this.options.review(token);
    } catch (error) {
      if (!this.failing) {
        const reason = error instanceof ReviewFailure ? error.message : 'the review failed';
        this.options.logger.error({ reason }, 'TokenReview failed: refusing callers whose tokens are not cached (503 auth_unavailable)');
      }
      this.failing = true;
      return { outcome: 'unavailable' };
    }
    if (this.failing) this.options.logger.info('TokenReview answers again');
    this.failing = false;
    if (!answer.authenticated || !answer.audiences.includes(this.options.audience)) {
      const verdict = { outcome: 'unauthenticated' as const };
      this.keep(key, verdict, tokenExpiryMs(token), Math.min(this.ttlMs, INVALID_TTL_MS));
      return verdict;
    }
    const caller = answer.username!;
    const verdict = this.allowed.has(caller) ? { outcome: 'allowed' as const, caller } : { outcome: 'forbidden' as const };
    // Once per review, so at most once a cache lifetime per token: who was turned away, and why.
    if (verdict.outcome === 'forbidden') this.options.logger.warn({ caller }, 'caller not in --allowed-callers: refused 403');
    this.keep(key, verdict, tokenExpiryMs(token));
    return verdict;
  }

  /** The kept verdict of a token, if one is still fresh; a stale one is dropped on the way. */
  private keptVerdict(key: string): Verdict | undefined {
    for (const kept of this.keptInOrder) {
      const entry = kept.get(key);
      if (entry === undefined) continue;
      if (this.monotonic() < entry.keptUntil && (entry.expiresAt === undefined || this.clock() < entry.expiresAt)) return entry.verdict;
      kept.delete(key);
    }
    return undefined;
  }

  private keep(key: string, verdict: Verdict & { outcome: KeptOutcome }, expiresAt: number | undefined, ttlMs = this.ttlMs): void {
    if (expiresAt !== undefined && expiresAt <= this.clock()) return;
    this.kept[verdict.outcome].set(key, { verdict, keptUntil: this.monotonic() + ttlMs, expiresAt });
  }
}
