import { expect } from 'chai';
import fc from 'fast-check';
import { fastCheckRequest, validateCheckRequest } from '../../../src/core/check-request.js';
import { MAX_DURATION_SECONDS } from '../../../src/core/duration.js';
import { mutated, wellFormed } from '../../helpers/request-arbitraries.js';
import type { Json } from '../../helpers/request-arbitraries.js';

/** Values at and just past each field's limits, and of each wrong kind. */
const BOUNDARIES: [string[], unknown[]][] = [
  [['subject', 'id'], ['', 'a', 'a'.repeat(256), 'a'.repeat(257), 'group:x#member', 'group:x', 'actor:a', 'Group:x', 'groups:x', ' a', 'a b', '-a', 5, null, []]],
  [['subject', 'extra'], ['x']],
  [['action'], ['', 'a'.repeat(64), 'a'.repeat(65), 5, null, ['sign']]],
  [['resource', 'id'], ['', 'a'.repeat(256), 'a'.repeat(257), 5, null]],
  [['resource', 'type'], ['', 'a'.repeat(64), 'a'.repeat(65), null, 5]],
  [['resource', 'extra'], ['x']],
  [['extra'], ['x']],
  [['context'], [null, [], 'x', {}, 0]],
  [['context', 'ttl'], [0, -1, 1.5, 1, '0s', '', '1d', '1s', MAX_DURATION_SECONDS, MAX_DURATION_SECONDS + 1, '87600h', '87601h', null, '60']],
  [['context', 'principals'], [[], [''], Array.from({ length: 64 }, (_, i) => `p${i}`), Array.from({ length: 65 }, (_, i) => `p${i}`), ['a'.repeat(256)], ['a'.repeat(257)], ['a\u0000'], ['a\u200b'], ['*'], ['a,b'], ['a.b@c-d_e'], [5], [null], null, 'x', {}]],
  [['context', 'metadata'], [null, [], 'x', 5, {}, { a: null }]],
  [['context', 'cert_type'], ['user', 'host', 'User', 'ca', '', null, 1, ['user']]],
  [['context', 'extensions'], [[], ['permit-pty'], ['permit-pty', 'permit-pty'], ['login@openssh.com'], [''], [1], null, 'permit-pty', {},
    ['no-touch-required', 'permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty', 'permit-user-rc'],
    Array.from({ length: 7 }, () => 'permit-pty'), Array.from({ length: 5000 }, (_, i) => `x${i}`)]],
  [['context', 'critical_options'], [{}, null, [], 'x', { extra: 1 }, { force_command: 'ls' }, { force_command: '' }, { force_command: 'a\nb' },
    { force_command: 'x'.repeat(1024) }, { force_command: 'x'.repeat(1025) }, { force_command: 5 }]],
  [['context', 'critical_options', 'source_address'], [['10.0.0.0/8'], ['10.0.0.0/8', '10.0.0.0/8'], [], ['10.0.0.1/8'], ['10.0.0.0'], ['::/0'],
    [5], null, '10.0.0.0/8', Array.from({ length: 64 }, (_, i) => `10.${i}.0.0/16`), Array.from({ length: 65 }, (_, i) => `10.${i}.0.0/16`),
    Array.from({ length: 5000 }, () => 'x')]],
  [['context', 'extra'], [1]],
];

function withValue(request: Json, path: string[], value: unknown): Json {
  const copy = JSON.parse(JSON.stringify(request)) as Json;
  let parent: Json = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof parent[key] !== 'object' || parent[key] === null) parent[key] = {};
    parent = parent[key] as Json;
  }
  parent[path.at(-1)!] = value;
  return copy;
}

const atBoundaries: fc.Arbitrary<string> = fc.tuple(wellFormed, fc.constantFrom(...BOUNDARIES))
  .chain(([request, [path, values]]) => fc.constantFrom(...values).map((value) => JSON.stringify(withValue(request, path, value))));

/** What the yup schema, the source of truth, says of a body: the request, or undefined if invalid. */
function schemaVerdict(body: unknown): unknown {
  try {
    return validateCheckRequest(body);
  } catch {
    return undefined;
  }
}

describe('the check request fast path', () => {
  it('accepts well-formed requests, with the same result as the schema', () => {
    fc.assert(fc.property(wellFormed, (body) => {
      const fast = fastCheckRequest(body);
      expect(fast, JSON.stringify(body)).not.to.equal(undefined);
      expect(fast).to.deep.equal(schemaVerdict(body));
    }), { numRuns: 500 });
  });

  it('never accepts what the schema rejects, and agrees with it when it accepts', () => {
    let fallbacks = 0;
    fc.assert(fc.property(fc.oneof(atBoundaries, atBoundaries, mutated, fc.json({ maxDepth: 4 })), (text) => {
      const body: unknown = JSON.parse(text);
      const fast = fastCheckRequest(body);
      if (fast === undefined) {
        fallbacks += 1;
        return;
      }
      expect(schemaVerdict(body), text).to.deep.equal(fast);
    }), { numRuns: 2000 });
    expect(fallbacks, 'hostile bodies should mostly fall back to the schema').to.be.greaterThan(800);
  });
});
