import { expect } from 'chai';
import { FlexAuthError, InvalidRequestError, MAX_ERROR_DETAILS as MAX_DETAILS, ROOT_PATH } from '../../../src/core/errors.js';
import { errorAnswer, MethodNotAllowedError, PayloadTooLargeError } from '../../../src/http/errors.js';

const details = (count: number) => Array.from({ length: count }, (_, i) => ({ path: `k${i}`, message: 'is not allowed' }));

describe('the one error mapping (src/http/errors.ts)', () => {
  it('keeps an exposed error\'s status, code, message, details and headers', () => {
    expect(errorAnswer(new InvalidRequestError('bad', details(2)))).to.deep.equal({
      status: 400, headers: [], body: { error: { code: 'invalid_request', message: 'bad', details: details(2) } },
    });
    expect(errorAnswer(new MethodNotAllowedError('PUT', '/v1/check', 'POST')).headers).to.deep.equal(['Allow', 'POST']);
    expect(errorAnswer(new PayloadTooLargeError(10)).headers).to.deep.equal(['Connection', 'close']);
  });

  it(`lists at most ${MAX_DETAILS} details, then one that counts the rest`, () => {
    expect(errorAnswer(new InvalidRequestError('bad', details(MAX_DETAILS))).body.error).to.deep.equal({ code: 'invalid_request', message: 'bad', details: details(MAX_DETAILS) });
    for (const count of [MAX_DETAILS + 1, 30_001]) {
      const { error } = errorAnswer(new InvalidRequestError('bad', details(count))).body;
      const more = count - MAX_DETAILS;
      expect(error.details).to.deep.equal([...details(MAX_DETAILS), { path: ROOT_PATH, message: `... and ${more} more error${more === 1 ? '' : 's'}` }]);
    }
  });

  it('answers anything else as a generic 500 that shows nothing of the error', () => {
    for (const error of [new Error('secret detail'), 'a string', undefined, new FlexAuthError('store_broken', 500, 'secret detail', details(1))]) {
      const answer = errorAnswer(error);
      expect(answer.status).to.equal(500);
      expect(answer.body.error.message).to.equal('internal error');
      expect(answer.body.error.details).to.deep.equal([]);
      expect(JSON.stringify(answer)).not.to.include('secret');
    }
  });
});
