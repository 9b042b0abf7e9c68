import { expect } from 'chai';
import { parseCheckRequest } from '../../../src/core/check-request.js';
import { InvalidRequestError } from '../../../src/core/errors.js';
import { thrown } from '../../helpers/thrown.js';

const refusal = (body: unknown) => thrown(InvalidRequestError, () => parseCheckRequest(body));

describe('check requests, at their edges', () => {
  it('says a request does not match the schema, and where', () => {
    const error = refusal({ subject: { id: 'agt-a' }, action: 7, resource: { id: 'agt-a' } });
    expect(error.message).to.equal('request does not match the check schema');
    expect(error.details).to.deep.equal([{ path: 'action', message: 'must be a string' }]);
  });
});
