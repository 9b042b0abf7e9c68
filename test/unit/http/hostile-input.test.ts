import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import { createApp } from '../../../src/http/app.js';
import { createLogger } from '../../../src/logger.js';
import { Metrics } from '../../../src/metrics.js';
import { RegistryStore } from '../../../src/registry/store.js';
import { expectedAllow, signers } from '../../helpers/policy-oracle.js';

type Json = Record<string, any>;

const PRODUCTION_TEXT = readFileSync(new URL('../../../../examples/ops-warden/production_registry_snapshot.json', import.meta.url), 'utf8');
const registry = JSON.parse(PRODUCTION_TEXT) as Json;
const actors = registry.actors as Json[];
const RUNS = 300;

const STACK_FRAME = /\bat .+:\d+:\d+|node:internal/;

// Subjects that matter: each actor's signers (allowed and group-granted), plus strangers.
const subjectPool = [...new Set(actors.flatMap((a) => [...signers(registry, a)]))].concat(['iam:mallory', 'agt-unknown', 'group:oncall#member']);
const principalPool = [...new Set(actors.flatMap((a) => a.principals as string[]))].concat(['root', 'admin']);
const ttlPool: (string | number)[] = ['1s', '59s', '5m', '4m59s', '1h', '2h', '8h', '8h1s', '12h', '999h', 1, 299, 300, 3600, 28800, 28801, 43200];

/**
 * Well-formed requests built around one actor: mostly its own signers, principals and ttls,
 * sometimes anyone else's, so that allows and every kind of deny are all common.
 */
const wellFormed: fc.Arbitrary<Json> = fc.constantFrom(...actors).chain((actor) => {
  const own = <T>(mine: T[], others: T[]) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...mine) }, { weight: 1, arbitrary: fc.constantFrom(...others) });
  return fc.record({
    subject: fc.record({ id: own([...signers(registry, actor)], subjectPool.filter((s) => !s.includes('#'))) }),
    action: fc.constantFrom('sign', 'sign', 'sign', 'revoke'),
    resource: fc.record({
      type: fc.constantFrom('ssh_actor', 'ssh_actor', 'ssh_host'),
      id: fc.constantFrom(actor.name as string, actor.name as string, actor.name as string, 'agt-missing'),
    }, { requiredKeys: ['id'] }),
    context: fc.record({
      ttl: own([actor.ttl.default, actor.ttl.max, actor.ttl.min ?? 1], ttlPool),
      principals: fc.uniqueArray(own(actor.principals as string[], principalPool), { minLength: 1, maxLength: 3 }),
      metadata: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }),
    }, { requiredKeys: [] }),
  }, { requiredKeys: ['subject', 'action', 'resource'] });
});

const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'allow', '', 'ｓｕｂｊｅｃｔ', 'subject ');
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything(),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.string({ minLength: 300, maxLength: 5000 }),
  fc.constantFrom(null, true, 0, -1, 1.5, 1e308, '', ' ', '0s', '1h', [], {}, ['sign'], { id: 'agt-state-hub-bridge' }),
  fc.integer({ min: 1, max: 200 }).map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown),
);

type Mutation = { kind: 'delete' | 'set' | 'add'; path: string[]; key?: string; value?: unknown };

/** Paths into a request object, for mutations. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return [prefix, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

function mutate(request: Json, mutation: Mutation): Json {
  const copy = JSON.parse(JSON.stringify(request)) as Json;
  const parentPath = mutation.path.slice(0, -1);
  let parent: any = copy;
  for (const key of parentPath) parent = parent?.[key];
  const last = mutation.path.at(-1);
  if (mutation.kind === 'delete' && last !== undefined && parent && typeof parent === 'object') delete parent[last];
  if (mutation.kind === 'set' && last !== undefined && parent && typeof parent === 'object') parent[last] = mutation.value;
  if (mutation.kind === 'add') {
    let target: any = copy;
    for (const key of mutation.path) target = target?.[key];
    if (target && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, mutation.key!, { value: mutation.value, enumerable: true, configurable: true, writable: true });
  }
  return copy;
}

const mutated: fc.Arbitrary<string> = wellFormed.chain((request) =>
  fc.array(
    fc.record({
      kind: fc.constantFrom('delete', 'set', 'add') as fc.Arbitrary<Mutation['kind']>,
      path: fc.constantFrom(...paths(request)),
      key: hostileKey,
      value: hostileValue,
    }),
    { minLength: 1, maxLength: 3 },
  ).chain((mutations) => {
    const body = JSON.stringify(mutations.reduce(mutate, request));
    // Sometimes repeat a key textually: JSON.parse keeps the last, and so must the decision.
    return fc.constantFrom(body, body.replace(/^\{"subject":/, '{"subject":{"id":"iam:mallory"},"subject":'));
  }),
);

describe('hostile input to /v1/check (property-based)', function () {
  this.timeout(120_000);
  let server: Server;
  let url: string;
  const logLines: Json[] = [];

  before(async () => {
    const store = new RegistryStore({ kind: 'file', name: 'file:/fuzz' });
    store.apply(PRODUCTION_TEXT);
    const logger = createLogger({ destination: { write: (line: string) => logLines.push(JSON.parse(line) as Json) } });
    server = createServer(createApp({ store, metrics: new Metrics('file'), logger, isDraining: () => false }).callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/check`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function post(body: string): Promise<{ status: number; json: Json; text: string }> {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await response.text();
    return { status: response.status, json: JSON.parse(text) as Json, text };
  }

  function expectErrorShape(status: number, body: Json, text: string): void {
    expect(status, text).to.be.oneOf([400, 413]);
    expect(Object.keys(body)).to.deep.equal(['error']);
    expect(body.error.code).to.be.a('string');
    expect(body.error.message).to.be.a('string');
    expect(body.error.details).to.be.an('array');
    expect(text).not.to.match(STACK_FRAME);
  }

  it('decides every well-formed request exactly as the reference policy does', async () => {
    let allows = 0;
    await fc.assert(fc.asyncProperty(wellFormed, async (request) => {
      const { status, json } = await post(JSON.stringify(request));
      expect(status).to.equal(200);
      expect(json.allow, JSON.stringify(request)).to.equal(expectedAllow(registry, request));
      if (json.allow) {
        allows += 1;
        expect(json.grant.principals).to.not.be.empty;
      }
    }), { numRuns: RUNS });
    expect(allows, 'the generator should produce allows and denies alike').to.be.within(RUNS * 0.1, RUNS * 0.9);
  });

  it('never answers a mutated request with a 5xx, an allow the policy would not give, or a malformed error', async () => {
    await fc.assert(fc.asyncProperty(mutated, async (body) => {
      const { status, json, text } = await post(body);
      if (status === 200) expect(json.allow, body).to.equal(expectedAllow(registry, JSON.parse(body) as Json));
      else expectErrorShape(status, json, text);
    }), { numRuns: RUNS });
  });

  it('answers any JSON value, or any text, with a decision or a 4xx in the error shape', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.json({ maxDepth: 6 }), fc.string({ unit: 'binary', maxLength: 200 })), async (body) => {
      const { status, json, text } = await post(body);
      if (status !== 200) expectErrorShape(status, json, text);
      else expect(json.allow).to.equal(expectedAllow(registry, JSON.parse(body) as Json));
    }), { numRuns: RUNS });
  });

  it('survives nesting as deep as the body limit allows', async () => {
    for (const depth of [1_000, 10_000, 32_000]) {
      const { status, json, text } = await post(`${'['.repeat(depth)}${']'.repeat(depth)}`);
      expectErrorShape(status, json, text);
      const metadata = await post(JSON.stringify({ subject: { id: 'agt-state-hub-bridge' }, action: 'sign', resource: { id: 'agt-state-hub-bridge' }, context: { metadata: { deep: JSON.parse(`${'['.repeat(depth / 10)}${']'.repeat(depth / 10)}`) } } }));
      expect(metadata.status).to.equal(200);
    }
  });

  it('keeps prototype-pollution keys from touching any object', async () => {
    const body = '{"subject":{"id":"iam:mallory"},"action":"sign","resource":{"id":"agt-state-hub-bridge"},"context":{"metadata":{"__proto__":{"allow":true,"polluted":1}},"__proto__":{"allow":true}}}';
    const { status, json } = await post(body);
    expect(status).to.equal(400);
    expect(json.error.details.map((d: Json) => d.path)).to.deep.equal(['context.__proto__']);
    expect(({} as Json).polluted).to.equal(undefined);
    expect(({} as Json).allow).to.equal(undefined);
  });

  it('logged one decision line per 200 answer and none for a 4xx', () => {
    expect(logLines.filter((line) => line.msg === 'decision').length).to.be.greaterThan(RUNS);
    expect(logLines.some((line) => line.msg === 'request failed')).to.equal(false);
  });
});
