/**
 * Unit tests of `CallerGate` (src/http/auth.ts): static tokens first, then the authenticator;
 * a caller or a refusal (401, 403, 503), at once unless the authenticator has to be asked;
 * each result is counted by method and outcome.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { AuthUnavailableError, BearerTokens, callerGate, CallerGate, ForbiddenError, UnauthorizedError } from '../../../src/http/auth.js';
import type { CallerAuthenticator, Verdict } from '../../../src/http/auth.js';
import { Metrics } from '../../../src/metrics.js';

const newToken = () => randomBytes(24).toString('hex');

/** An authenticator that knows a few tokens' verdicts, answering at once or later. */
function authenticator(verdicts: Map<string, Verdict>, later = false): CallerAuthenticator & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    verify(token) {
      asked.push(token);
      const verdict = verdicts.get(token) ?? { outcome: 'unauthenticated' as const };
      return later ? Promise.resolve(verdict) : verdict;
    },
  };
}

/** The gate's caller for a request, or its refusal. */
async function admitted(gate: CallerGate, authorization: string | undefined): Promise<string | Error> {
  try {
    return await gate.callerOf(authorization);
  } catch (error) {
    return error as Error;
  }
}

async function counts(metrics: Metrics): Promise<Record<string, number>> {
  const { values } = await metrics.registry.getSingleMetric('flex_auth_auth_results_total')!.get();
  return Object.fromEntries(values.map((v) => [`${v.labels.method}/${v.labels.outcome}`, v.value]));
}

describe('caller gate (src/http/auth.ts)', () => {
  const staticToken = newToken();
  const tokens = BearerTokens.parse(staticToken);
  const allowed = newToken();
  const forbidden = newToken();
  const unavailable = newToken();
  const verdicts = new Map<string, Verdict>([
    [allowed, { outcome: 'allowed', caller: 'system:serviceaccount:ops-warden:ops-warden' }],
    [forbidden, { outcome: 'forbidden' }],
    [unavailable, { outcome: 'unavailable' }],
  ]);

  for (const later of [false, true]) {
    it(`settles each verdict for its request (authenticator answering ${later ? 'later' : 'at once'})`, async () => {
      const metrics = new Metrics('file');
      const reviews = authenticator(verdicts, later);
      const gate = new CallerGate(() => tokens, reviews, metrics);
      expect(await admitted(gate, `Bearer ${allowed}`)).to.equal('system:serviceaccount:ops-warden:ops-warden');
      expect(await admitted(gate, `Bearer ${staticToken}`)).to.match(/^token:[0-9a-f]{8}$/);
      expect(await admitted(gate, `Bearer ${forbidden}`)).to.be.instanceOf(ForbiddenError);
      expect(await admitted(gate, `Bearer ${unavailable}`)).to.be.instanceOf(AuthUnavailableError);
      expect(await admitted(gate, `Bearer ${newToken()}`)).to.be.instanceOf(UnauthorizedError);
      expect(await admitted(gate, undefined)).to.be.instanceOf(UnauthorizedError);
      expect(reviews.asked, 'a static token is not reviewed; a missing one neither').to.have.length(4);
      expect(await counts(metrics)).to.deep.equal({
        'tokenreview/allowed': 1, 'static/allowed': 1, 'tokenreview/forbidden': 1,
        'tokenreview/unavailable': 1, 'tokenreview/unauthenticated': 2,
      });
    });
  }

  it('counts under static when there is no authenticator', async () => {
    const metrics = new Metrics('file');
    const gate = new CallerGate(() => tokens, undefined, metrics);
    expect(await admitted(gate, `Bearer ${staticToken}`)).to.match(/^token:/);
    expect(await admitted(gate, `Bearer ${allowed}`)).to.be.instanceOf(UnauthorizedError);
    expect(await counts(metrics)).to.deep.equal({ 'static/allowed': 1, 'static/unauthenticated': 1 });
  });

  it('answers at once unless the authenticator has to be asked', () => {
    const gate = new CallerGate(() => tokens, authenticator(verdicts, true), new Metrics('file'));
    expect(gate.callerOf(`Bearer ${staticToken}`)).to.be.a('string');
    expect(() => gate.callerOf(undefined)).to.throw(UnauthorizedError);
    expect(gate.callerOf(`Bearer ${allowed}`)).to.be.instanceOf(Promise);
  });

  it('is off, so every caller is anonymous, without static tokens or an authenticator', () => {
    const metrics = new Metrics('file');
    expect(callerGate({ metrics })).to.equal(undefined);
    expect(callerGate({ metrics, tokens: () => tokens })).to.be.instanceOf(CallerGate);
    expect(callerGate({ metrics, authenticator: authenticator(verdicts) })).to.be.instanceOf(CallerGate);
  });

  it('refuses 503 when the authenticator rejects', async () => {
    const failing: CallerAuthenticator = { verify: () => Promise.reject(new Error('boom')) };
    const gate = new CallerGate(undefined, failing, new Metrics('file'));
    expect(await admitted(gate, `Bearer ${allowed}`)).to.be.instanceOf(AuthUnavailableError);
  });
});
