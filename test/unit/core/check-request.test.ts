import { expect } from 'chai';
import { parseCheckRequest, parseCheckRequestText } from '../../../src/core/check-request.js';
import { InvalidRequestError } from '../../../src/core/errors.js';
import type { ErrorDetail } from '../../../src/core/errors.js';

const valid = () => ({ subject: { id: 'agt-a' }, action: 'sign', resource: { id: 'agt-a' } }) as Record<string, unknown>;

function problems(body: unknown): ErrorDetail[] {
  try {
    parseCheckRequest(body);
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidRequestError);
    return [...(error as InvalidRequestError).details];
  }
  throw new Error('expected the request to be rejected');
}

function paths(body: unknown): string[] {
  return problems(body).map((detail) => detail.path);
}

describe('check requests', () => {
  it('defaults the resource type to ssh_actor and leaves absent context keys absent', () => {
    expect(parseCheckRequest(valid())).to.deep.equal({
      subject: { id: 'agt-a' }, action: 'sign', resource: { type: 'ssh_actor', id: 'agt-a' }, context: {},
    });
  });

  it('converts the ttl to seconds', () => {
    expect(parseCheckRequest({ ...valid(), context: { ttl: '1h30m' } }).context.ttl).to.equal(5400);
  });

  it('reports every problem at once, each with its path', () => {
    expect(paths({ subject: { id: 7 }, resource: {}, extra: true })).to.have.members(['subject.id', 'action', 'resource.id', 'extra']);
  });

  it('rejects unknown keys at every level', () => {
    expect(paths({ ...valid(), subject: { id: 'a', name: 'x' } })).to.deep.equal(['subject.name']);
    expect(paths({ ...valid(), resource: { id: 'a', kind: 'x' } })).to.deep.equal(['resource.kind']);
    expect(paths({ ...valid(), context: { ttl: '1h', principal: ['a'] } })).to.deep.equal(['context.principal']);
  });

  it('treats __proto__ and constructor as the unknown keys they are', () => {
    expect(paths(JSON.parse('{"subject":{"id":"a"},"action":"sign","resource":{"id":"a"},"__proto__":{"allow":true}}'))).to.deep.equal(['__proto__']);
    expect(paths({ ...valid(), constructor: 1 })).to.deep.equal(['constructor']);
  });

  for (const ttl of [0, -5, 1.5, '5x', '', '0s', '1d', null, true, ['1h']]) {
    it(`rejects the ttl ${JSON.stringify(ttl)}`, () => {
      expect(paths({ ...valid(), context: { ttl } })).to.deep.equal(['context.ttl']);
    });
  }

  it('rejects an empty principals list, non-string principals and too many', () => {
    expect(paths({ ...valid(), context: { principals: [] } })).to.deep.equal(['context.principals']);
    expect(paths({ ...valid(), context: { principals: ['a', 5] } })).to.deep.equal(['context.principals[1]']);
    expect(paths({ ...valid(), context: { principals: Array.from({ length: 65 }, (_, i) => `p${i}`) } })).to.deep.equal(['context.principals']);
  });

  it('accepts any metadata object but not other types', () => {
    expect(parseCheckRequest({ ...valid(), context: { metadata: { a: { b: [1] } } } }).context.metadata).to.deep.equal({ a: { b: [1] } });
    for (const metadata of [[], 'x', 5, null]) expect(paths({ ...valid(), context: { metadata } })).to.deep.equal(['context.metadata']);
  });

  it('rejects a userset or a blank as the subject id', () => {
    expect(paths({ ...valid(), subject: { id: 'group:ops#member' } })).to.deep.equal(['subject.id']);
    expect(paths({ ...valid(), subject: { id: '' } })).to.deep.equal(['subject.id']);
    expect(paths({ ...valid(), subject: { id: 'alice smith' } })).to.deep.equal(['subject.id']);
  });

  it('bounds string lengths', () => {
    expect(paths({ ...valid(), resource: { id: 'a'.repeat(257) } })).to.deep.equal(['resource.id']);
    expect(paths({ ...valid(), action: 'a'.repeat(65) })).to.deep.equal(['action']);
  });

  it('rejects bodies that are not objects', () => {
    for (const body of [[], null, 'x', 5, undefined]) expect(problems(body)).to.have.length.greaterThan(0);
  });

  it('reports bad JSON as an invalid request', () => {
    expect(() => parseCheckRequestText('{"subject":')).to.throw(InvalidRequestError, /not valid JSON/);
  });
});
