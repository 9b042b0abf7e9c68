import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { BearerTokens, CallerGate, MIN_TOKEN_LENGTH, UnauthorizedError } from '../../../src/http/auth.js';
import { Metrics } from '../../../src/metrics.js';
import { errorAnswer } from '../../../src/http/errors.js';

/** Tokens made for this run only: nothing secret lives in the repository. */
const newToken = () => randomBytes(20).toString('hex');

/** The caller `authorization` proves with these static tokens alone (throws when none). */
const authenticate = (authorization: string | undefined, tokens: BearerTokens) => new CallerGate(() => tokens, undefined, new Metrics('file')).callerOf(authorization);

describe('bearer tokens (src/http/auth.ts)', () => {
  const first = newToken();
  const second = newToken();
  const tokens = BearerTokens.parse(`# callers\n\n  ${first}  \r\n${second}\n`);

  it('reads one token a line, skipping blank lines and # comments, trimming each', () => {
    expect(tokens.size).to.equal(2);
    expect(tokens.accepts(first)).to.equal(true);
    expect(tokens.accepts(second)).to.equal(true);
  });

  it('accepts no other token, a prefix or an extension of one included', () => {
    for (const other of [newToken(), first.slice(0, -1), `${first}x`, '', ' '.repeat(40)]) expect(tokens.accepts(other), other).to.equal(false);
  });

  it('refuses a file with a short or spaced token, naming the line and never the token', () => {
    const short = 'y'.repeat(MIN_TOKEN_LENGTH - 1);
    const spaced = `${newToken()} ${newToken()}`;
    for (const [text, secret] of [[`${first}\n${short}\n`, short], [`# a\n${spaced}`, spaced.slice(0, 8)]] as const) {
      const refusal = (() => {
        try {
          BearerTokens.parse(text);
        } catch (error) {
          return (error as Error).message;
        }
        return 'accepted';
      })();
      expect(refusal).to.match(/^line 2: a token must be at least 16 characters with no whitespace$/);
      expect(refusal).not.to.include(secret);
    }
  });

  it('reads a file with only comments as no tokens, so it refuses everyone', () => {
    const none = BearerTokens.parse('# revoked\n');
    expect(none.size).to.equal(0);
    expect(() => authenticate(`Bearer ${first}`, none)).to.throw(UnauthorizedError);
  });

  it('authenticates `Bearer <token>` with the scheme in any case (RFC 7235)', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) expect(() => authenticate(`${scheme} ${first}`, tokens), scheme).not.to.throw();
    expect(() => authenticate(`Bearer   ${second}`, tokens), 'several spaces').not.to.throw();
  });

  it('refuses a missing header, another scheme, a bare token, an unknown token or trailing parts', () => {
    for (const header of [undefined, '', first, `Basic ${first}`, `Bearer ${newToken()}`, `Bearer ${first} ${second}`, `Bearer${first}`, `Bearer ${first}\t`]) {
      expect(() => authenticate(header, tokens), String(header)).to.throw(UnauthorizedError);
    }
  });

  it('answers 401 with the RFC 6750 challenge, through the one error mapping', () => {
    const answer = errorAnswer(new UnauthorizedError());
    expect(answer.status).to.equal(401);
    expect(answer.headers).to.deep.equal(['WWW-Authenticate', 'Bearer realm="flex-auth"']);
    expect(answer.body).to.deep.equal({ error: { code: 'unauthorized', message: 'missing or invalid bearer token', details: [] } });
  });
});
