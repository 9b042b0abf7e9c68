/**
 * Unit tests of src/kube-token-review.ts's authenticator with an in-process review and clocks
 * the test moves (wall and monotonic): what is admitted, what is kept and for how long (60 s of
 * monotonic time, shortened by the token's `exp` on the wall clock), the size bound, shared in-flight reviews, and that no token reaches a log
 * line or a verdict. The Kubernetes call itself is tested against the protocol fake
 * (test/integration/caller-identity.test.ts) and a real API server (test/k8s/).
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Verdict } from '../../src/http/auth.js';
import { ReviewFailure, TokenReviewAuthenticator, tokenExpiryMs } from '../../src/kube-token-review.js';
import type { ReviewAnswer, TokenReviewOptions } from '../../src/kube-token-review.js';
import { createLogger } from '../../src/logger.js';

const AUDIENCE = 'flex-auth';
const OPS_WARDEN = 'system:serviceaccount:ops-warden:ops-warden';
const OTHER = 'system:serviceaccount:other:other';
const START = 1_800_000_000_000;
/** Where the monotonic clock starts: unrelated to the wall clock, as performance.now is. */
const ELAPSED_START = 5_000;

/** A JWT-shaped token (header.payload.signature) with this `exp` (seconds), made for this run. */
function jwt(exp?: number): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(exp === undefined ? { sub: 'x' } : { sub: 'x', exp })}.${randomBytes(32).toString('base64url')}`;
}

interface Harness {
  readonly authenticator: TokenReviewAuthenticator;
  /** Tokens reviewed, in order. */
  readonly reviewed: string[];
  /** Who each token is (tokens not here are invalid). */
  readonly users: Map<string, ReviewAnswer>;
  readonly logLines: string[];
  /** Wall-clock time (milliseconds since the epoch): what a token's `exp` is measured against. */
  now: number;
  /** Monotonic time (milliseconds): what a verdict's stay in the cache is measured in. */
  elapsed: number;
  /** When set, the review throws this instead of answering. */
  failure: Error | undefined;
  /** When set, reviews wait for this before answering. */
  gate: Promise<void> | undefined;
}

function harness(options: Partial<Omit<TokenReviewOptions, 'review' | 'logger'>> = {}): Harness {
  const logLines: string[] = [];
  const h: Harness = {
    reviewed: [], users: new Map(), logLines, now: START, elapsed: ELAPSED_START, failure: undefined, gate: undefined,
    authenticator: undefined as unknown as TokenReviewAuthenticator,
  };
  (h as { authenticator: TokenReviewAuthenticator }).authenticator = new TokenReviewAuthenticator({
    audience: AUDIENCE,
    allowedCallers: [OPS_WARDEN],
    logger: createLogger({ destination: { write: (text: string) => logLines.push(text) } }),
    clock: () => h.now,
    monotonic: () => h.elapsed,
    ...options,
    review: async (token) => {
      h.reviewed.push(token);
      await h.gate;
      if (h.failure) throw h.failure;
      return h.users.get(token) ?? { authenticated: false, audiences: [] };
    },
  });
  return h;
}

/** A token the harness's authority knows as `username`, for `audiences`. */
function known(h: Harness, username: string, exp?: number, audiences: readonly string[] = [AUDIENCE]): string {
  const token = jwt(exp);
  h.users.set(token, { authenticated: true, username, audiences });
  return token;
}

const verify = async (h: Harness, token: string): Promise<Verdict> => h.authenticator.verify(token);

/** Moves both clocks to `ms` after the start, as when nobody touches the wall clock. */
function at(h: Harness, ms: number): void {
  h.now = START + ms;
  h.elapsed = ELAPSED_START + ms;
  h.elapsed = ELAPSED_START + ms;
}

describe('TokenReview authenticator (src/kube-token-review.ts)', () => {
  it('admits an allowed caller by its reviewed username, refuses another valid one, and an invalid token', async () => {
    const h = harness();
    expect(await verify(h, known(h, OPS_WARDEN))).to.deep.equal({ outcome: 'allowed', caller: OPS_WARDEN });
    expect(await verify(h, known(h, OTHER))).to.deep.equal({ outcome: 'forbidden' });
    expect(await verify(h, jwt())).to.deep.equal({ outcome: 'unauthenticated' });
  });

  it('refuses at once, without a review, a token that cannot be a ServiceAccount token (not a JWT\'s three base64url parts)', () => {
    const h = harness();
    const [header, payload, signature] = jwt().split('.') as [string, string, string];
    const notJwts = [
      randomBytes(24).toString('hex'), `${header}.${payload}`, `${header}.${payload}.${signature}.${signature}`,
      `${header}..${signature}`, `.${payload}.${signature}`, `${header}.${payload}.`, `${header}.${payload}.${signature}=`,
      `${header}.${payload}.${signature.slice(1)}+/`, `${header}.${payload}.${signature}\u00e9`,
    ];
    for (const token of notJwts) expect(h.authenticator.verify(token), token).to.deep.equal({ outcome: 'unauthenticated' });
    expect(h.reviewed).to.deep.equal([]);
    expect(h.authenticator.verify(`${header}.${payload}.${signature}`)).to.be.instanceOf(Promise);
  });

  it('refuses as unauthenticated a token whose review does not name the audience back', async () => {
    const h = harness();
    expect(await verify(h, known(h, OPS_WARDEN, undefined, ['kubernetes']))).to.deep.equal({ outcome: 'unauthenticated' });
    // An API server that is not audience-aware answers no audiences at all.
    expect(await verify(h, known(h, OPS_WARDEN, undefined, []))).to.deep.equal({ outcome: 'unauthenticated' });
  });

  it('keeps a verdict for 60 s by the injected clock, then reviews the token again', async () => {
    const h = harness();
    const token = known(h, OPS_WARDEN);
    await verify(h, token);
    at(h, 59_999);
    expect(h.authenticator.verify(token), 'answered at once, from the cache').to.deep.equal({ outcome: 'allowed', caller: OPS_WARDEN });
    expect(h.reviewed).to.have.length(1);
    at(h, 60_000);
    expect(h.authenticator.verify(token)).to.be.instanceOf(Promise);
    await verify(h, token);
    expect(h.reviewed).to.have.length(2);
  });

  it('keeps a verdict 60 s of monotonic time even when the wall clock steps back an hour', async () => {
    const h = harness();
    const token = known(h, OPS_WARDEN, START / 1000 + 7200);
    await verify(h, token);
    h.now = START - 3_600_000;
    h.elapsed = ELAPSED_START + 59_999;
    expect(h.authenticator.verify(token), 'still kept').to.deep.equal({ outcome: 'allowed', caller: OPS_WARDEN });
    h.elapsed = ELAPSED_START + 60_000;
    expect(h.authenticator.verify(token), 'reviewed again').to.be.instanceOf(Promise);
    await verify(h, token);
    expect(h.reviewed).to.have.length(2);
  });

  it('measures a token\'s expiry on the wall clock: a step forward past its exp ends the stay', async () => {
    const h = harness();
    const token = known(h, OPS_WARDEN, START / 1000 + 30);
    await verify(h, token);
    h.now = START + 30_000;
    h.elapsed = ELAPSED_START + 1;
    expect(h.authenticator.verify(token)).to.be.instanceOf(Promise);
  });

  it('keeps a verdict no longer than the token expires, and not at all past its expiry', async () => {
    const h = harness();
    const soon = known(h, OPS_WARDEN, START / 1000 + 10);
    await verify(h, soon);
    at(h, 9_999);
    await verify(h, soon);
    expect(h.reviewed).to.have.length(1);
    at(h, 10_000);
    await verify(h, soon);
    expect(h.reviewed).to.have.length(2);
    // The authority still says yes (its clock is behind): admitted, but not kept.
    await verify(h, soon);
    expect(h.reviewed).to.have.length(3);
  });

  for (const [cacheTtlMs, keptMs] of [[3_600_000, 60_000], [5_000, 5_000]] as const) {
    it(`given a cache TTL of ${cacheTtlMs} ms, keeps a verdict ${keptMs} ms (never more than 60 s)`, async () => {
      const h = harness({ cacheTtlMs });
      const token = known(h, OPS_WARDEN);
      await verify(h, token);
      at(h, keptMs - 1);
      await verify(h, token);
      expect(h.reviewed).to.have.length(1);
      at(h, keptMs);
      await verify(h, token);
      expect(h.reviewed).to.have.length(2);
    });
  }

  it('holds at most maxEntries tokens, pushing out the oldest', async () => {
    const h = harness({ maxEntries: 3 });
    const tokens = [known(h, OPS_WARDEN), known(h, OPS_WARDEN), known(h, OPS_WARDEN), known(h, OPS_WARDEN)];
    for (const token of tokens) await verify(h, token);
    expect(h.authenticator.cached).to.equal(3);
    for (const token of tokens.slice(1)) await verify(h, token);
    expect(h.reviewed).to.have.length(4);
    await verify(h, tokens[0]!);
    expect(h.reviewed).to.have.length(5);
  });

  it('keeps allowed and forbidden verdicts apart: no number of forbidden tokens pushes an allowed verdict out', async () => {
    const h = harness({ maxEntries: 3, maxForbiddenEntries: 3 });
    const opsWarden = known(h, OPS_WARDEN);
    await verify(h, opsWarden);
    const others = Array.from({ length: 50 }, () => known(h, OTHER));
    for (const other of others) expect(await verify(h, other)).to.deep.equal({ outcome: 'forbidden' });
    expect(h.authenticator.verify(opsWarden), 'still kept, answered at once').to.deep.equal({ outcome: 'allowed', caller: OPS_WARDEN });
    expect(h.reviewed.filter((t) => t === opsWarden)).to.have.length(1);
    // The forbidden verdicts have their own bound: the last three are kept, the first was pushed out.
    expect(h.authenticator.verify(others.at(-1)!)).to.deep.equal({ outcome: 'forbidden' });
    expect(h.authenticator.verify(others[0]!)).to.be.instanceOf(Promise);
  });

  it('keeps forbidden verdicts; does not keep failed reviews', async () => {
    const h = harness();
    const other = known(h, OTHER);
    for (let i = 0; i < 2; i += 1) await verify(h, other);
    expect(h.reviewed.filter((t) => t === other)).to.have.length(1);
    h.failure = new ReviewFailure('the API server answered 500');
    const token = known(h, OPS_WARDEN);
    expect(await verify(h, token)).to.deep.equal({ outcome: 'unavailable' });
    h.failure = undefined;
    expect(await verify(h, token)).to.deep.equal({ outcome: 'allowed', caller: OPS_WARDEN });
  });

  it('keeps an invalid token\'s verdict 10 s and no longer than its expiry, apart: no number of invalid tokens pushes another verdict out', async () => {
    const h = harness({ maxEntries: 2, maxForbiddenEntries: 2, maxInvalidEntries: 3 });
    const opsWarden = known(h, OPS_WARDEN);
    const other = known(h, OTHER);
    await verify(h, opsWarden);
    await verify(h, other);
    const invalid = jwt();
    const expiresSoon = jwt(START / 1000 + 5);
    const expired = jwt(START / 1000 - 1);
    for (const token of [invalid, expiresSoon, expired]) expect(await verify(h, token)).to.deep.equal({ outcome: 'unauthenticated' });
    at(h, 4_999);
    for (const token of [invalid, expiresSoon]) expect(h.authenticator.verify(token), 'kept').to.deep.equal({ outcome: 'unauthenticated' });
    expect(h.authenticator.verify(expired), 'past its expiry: not kept').to.be.instanceOf(Promise);
    at(h, 5_000);
    expect(h.authenticator.verify(expiresSoon), 'kept until its expiry').to.be.instanceOf(Promise);
    at(h, 9_999);
    expect(h.authenticator.verify(invalid), 'kept').to.deep.equal({ outcome: 'unauthenticated' });
    at(h, 10_000);
    expect(h.authenticator.verify(invalid), 'asked again after 10 s').to.be.instanceOf(Promise);
    // A flood of junk tokens: each is reviewed once, and only pushes other junk out.
    const junk = Array.from({ length: 50 }, () => jwt());
    for (const token of junk) await verify(h, token);
    expect(h.authenticator.verify(opsWarden)).to.deep.equal({ outcome: 'allowed', caller: OPS_WARDEN });
    expect(h.authenticator.verify(other)).to.deep.equal({ outcome: 'forbidden' });
    expect(h.authenticator.verify(junk.at(-1)!)).to.deep.equal({ outcome: 'unauthenticated' });
    expect(h.authenticator.verify(junk[0]!), 'pushed out by later junk').to.be.instanceOf(Promise);
  });

  it('keeps an invalid token\'s verdict no longer than the cache TTL, when that is shorter than 10 s', async () => {
    const h = harness({ cacheTtlMs: 5_000 });
    const invalid = jwt();
    await verify(h, invalid);
    at(h, 4_999);
    expect(h.authenticator.verify(invalid)).to.deep.equal({ outcome: 'unauthenticated' });
    at(h, 5_000);
    expect(h.authenticator.verify(invalid)).to.be.instanceOf(Promise);
  });

  it('shares one review among concurrent checks with the same uncached token', async () => {
    const h = harness();
    const token = known(h, OPS_WARDEN);
    let release!: () => void;
    h.gate = new Promise((resolve) => { release = resolve; });
    const pending = [verify(h, token), verify(h, token), verify(h, token)];
    release();
    expect(await Promise.all(pending)).to.deep.equal(Array(3).fill({ outcome: 'allowed', caller: OPS_WARDEN }));
    expect(h.reviewed).to.have.length(1);
  });

  it('refuses an uncached token at once (unavailable, fail closed) while maxInFlight reviews are pending, and logs the episode once', async () => {
    const h = harness({ maxInFlight: 2 });
    const cached = known(h, OPS_WARDEN);
    await verify(h, cached);
    let release!: () => void;
    h.gate = new Promise((resolve) => { release = resolve; });
    const first = known(h, OPS_WARDEN);
    const pending = [h.authenticator.verify(first), h.authenticator.verify(known(h, OTHER))];
    expect(pending[0]).to.be.instanceOf(Promise);
    expect(pending[1]).to.be.instanceOf(Promise);
    const refused = [jwt(), jwt(), known(h, OPS_WARDEN)];
    for (const token of refused) expect(h.authenticator.verify(token), 'refused without asking').to.deep.equal({ outcome: 'unavailable' });
    expect(h.reviewed).to.have.length(3);
    // A token already under review waits for that review; a kept verdict is answered as ever.
    expect(h.authenticator.verify(first)).to.equal(pending[0]);
    expect(h.authenticator.verify(cached)).to.deep.equal({ outcome: 'allowed', caller: OPS_WARDEN });
    release();
    await Promise.all(pending);
    expect(await verify(h, refused[2]!), 'asked once below the limit again').to.deep.equal({ outcome: 'allowed', caller: OPS_WARDEN });
    const lines = h.logLines.map((line) => JSON.parse(line) as { msg: string; max_in_flight?: number; refused?: number });
    expect(lines.filter((l) => l.msg.startsWith('TokenReview concurrency limit'))).to.deep.equal([
      lines.find((l) => l.msg === 'TokenReview concurrency limit reached: refusing uncached tokens without asking (503 auth_unavailable)'),
      lines.find((l) => l.msg === 'TokenReview concurrency limit no longer reached'),
    ]);
    expect(lines.find((l) => l.msg.startsWith('TokenReview concurrency limit reached'))!.max_in_flight).to.equal(2);
    expect(lines.find((l) => l.msg === 'TokenReview concurrency limit no longer reached')!.refused).to.equal(3);
    expect(lines.map((l) => l.msg)).not.to.include('TokenReview failed: refusing callers whose tokens are not cached (503 auth_unavailable)');
  });

  it('logs an outage once and the recovery once, never the token, even when the failure echoes it', async () => {
    const h = harness();
    const tokens = [known(h, OPS_WARDEN), known(h, OPS_WARDEN)];
    h.failure = new Error(`connect ECONNREFUSED while sending ${tokens[0]}`);
    for (const token of tokens) expect(await verify(h, token)).to.deep.equal({ outcome: 'unavailable' });
    h.failure = undefined;
    await verify(h, tokens[0]!);
    await verify(h, known(h, OTHER));
    const messages = h.logLines.map((line) => JSON.parse(line) as { msg: string; caller?: string });
    expect(messages.map((m) => m.msg)).to.deep.equal([
      'TokenReview failed: refusing callers whose tokens are not cached (503 auth_unavailable)',
      'TokenReview answers again',
      'caller not in --allowed-callers: refused 403',
    ]);
    expect(messages[2]!.caller).to.equal(OTHER);
    for (const token of h.reviewed) {
      expect(h.logLines.join('\n')).not.to.include(token);
      expect(h.logLines.join('\n')).not.to.include(token.split('.')[2]!);
    }
  });

  it('reads exp from a JWT payload and nothing from anything else', () => {
    expect(tokenExpiryMs(jwt(1_900_000_000))).to.equal(1_900_000_000_000);
    for (const token of [jwt(), 'not-a-jwt', 'a.!!!.c', `a.${Buffer.from('{"exp":"soon"}').toString('base64url')}.c`, `a.${Buffer.from('null').toString('base64url')}.c`]) {
      expect(tokenExpiryMs(token), token).to.equal(undefined);
    }
  });
});
