import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { revisionOf } from '../../../src/registry/revision.js';

describe('revisionOf, for a value JSON cannot write', () => {
  it('hashes undefined as JSON null', () => {
    expect(revisionOf(undefined)).to.equal(`sha256:${createHash('sha256').update('null').digest('hex')}`);
  });
});
