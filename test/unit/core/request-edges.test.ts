import { expect } from 'chai';
import { parseCheckRequest } from '../../../src/core/check-request.js';
import { InvalidRequestError } from '../../../src/core/errors.js';

function refusal(body: unknown): InvalidRequestError {
  try {
    parseCheckRequest(body);
  } catch (error) {
    if (error instanceof InvalidRequestError) return error;
    throw error;
  }
  throw new Error('the request was accepted');
}

describe('check requests, at their edges', () => {
  it('says a request does not match the schema, and where', () => {
    const error = refusal({ subject: { id: 'agt-a' }, action: 7, resource: { id: 'agt-a' } });
    expect(error.message).to.equal('request does not match the check schema');
    expect(error.details).to.deep.equal([{ path: 'action', message: 'must be a string' }]);
  });
});
