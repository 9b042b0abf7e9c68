import { expect } from 'chai';
import { parseCheckRequest, parseCheckRequestText } from '../../../src/core/check-request.js';
import { InvalidRequestError } from '../../../src/core/errors.js';
import type { ErrorDetail } from '../../../src/core/errors.js';

/** The details of the 400 a body gets (fails the test if the body is accepted). */
function refusal(body: unknown): readonly ErrorDetail[] {
  try {
    parseCheckRequest(body);
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidRequestError);
    return (error as InvalidRequestError).details;
  }
  expect.fail(`accepted ${JSON.stringify(body).slice(0, 200)}`);
}

function body(subject: string, principals?: unknown[]): Record<string, unknown> {
  return {
    subject: { id: subject }, action: 'sign', resource: { id: 'agt-a' },
    ...(principals === undefined ? {} : { context: { principals } }),
  };
}

describe('check requests: bounded and strict', () => {
  it('stops judging principals at one past the limit: a bad principal further on is not even looked at', () => {
    const principals = Array.from({ length: 30_000 }, (_, i) => (i === 100 ? '' : `p${i}`));
    const details = refusal(body('iam:x', principals));
    expect(details.map((d) => d.path)).to.deep.equal(['context.principals']);
    expect(details[0]!.message).to.match(/at most 64 entries/);
  });

  it('lists at most 20 unknown keys, then one detail counting the rest', () => {
    const extra = Object.fromEntries(Array.from({ length: 6_000 }, (_, i) => [`k${i}`, i]));
    const details = refusal({ ...body('iam:x'), ...extra });
    expect(details).to.have.length(21);
    expect(details.slice(0, 20).every((d) => d.message === 'unknown key')).to.equal(true);
    expect(details[20]).to.deep.equal({ path: '(root)', message: '... and 5980 more errors' });
  });

  it('caps the details of any request at 20 and says how many more there were', () => {
    const principals = Array.from({ length: 30 }, () => 'a b');
    const details = refusal(body('iam:x', principals));
    expect(details).to.have.length(21);
    expect(details[20]).to.deep.equal({ path: '(root)', message: '... and 10 more errors' });
  });

  it('refuses principals outside [A-Za-z0-9._@-]: NUL, zero-width, wildcards, commas, whitespace', () => {
    for (const principal of ['a\u0000b', 'a\u200bb', '\u2060', '*', 'a?', 'a,b', 'a b', 'a\tb', 'é', 'x'.repeat(257)]) {
      const details = refusal(body('iam:x', ['ok', principal]));
      expect([...new Set(details.map((d) => d.path))], JSON.stringify(principal)).to.deep.equal(['context.principals[1]']);
    }
    expect(parseCheckRequest(body('iam:x', ['a.b_c@d-e', 'x'.repeat(256)])).context.principals).to.have.length(2);
  });

  it('reserves the group: and actor: prefixes: a caller cannot be named like a registry object', () => {
    for (const subject of ['group:ops', 'actor:agt-a', 'GROUP:ops', 'Actor:x']) {
      const details = refusal(body(subject));
      expect(details.map((d) => d.path), subject).to.deep.equal(['subject.id']);
      expect(details[0]!.message).to.match(/group: or actor:/);
    }
    expect(parseCheckRequest(body('groups:ops')).subject.id).to.equal('groups:ops');
  });

  it('names the whole body (root) the same way everywhere', () => {
    expect(refusal([]).map((d) => d.path)).to.deep.equal(['(root)']);
  });

  it('refuses a duplicate key in the body, naming its path, line and column', () => {
    const text = '{"subject":{"id":"iam:x"},"action":"sign",\n "resource":{"id":"agt-a","id":"agt-b"}}';
    try {
      parseCheckRequestText(text);
      expect.fail('accepted a duplicate key');
    } catch (error) {
      expect(error).to.be.instanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).details).to.deep.equal([{ path: 'resource.id', message: 'duplicate key at line 2, column 27' }]);
    }
  });
});
