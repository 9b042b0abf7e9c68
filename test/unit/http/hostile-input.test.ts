import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import { createApp } from '../../../src/http/app.js';
import { createLogger } from '../../../src/logger.js';
import { Metrics } from '../../../src/metrics.js';
import { RegistryStore } from '../../../src/registry/store.js';
import { expectedAllow } from '../../helpers/policy-oracle.js';
import { mutated, PRODUCTION_TEXT, registry, wellFormed } from '../../helpers/request-arbitraries.js';
import type { Json } from '../../helpers/request-arbitraries.js';

const RUNS = 300;
const STACK_FRAME = /\bat .+:\d+:\d+|node:internal/;

describe('hostile input to /v1/check (property-based)', function () {
  this.timeout(120_000);
  let server: Server;
  let url: string;
  const logLines: Json[] = [];

  before(async () => {
    const store = new RegistryStore({ kind: 'file', name: 'file:/fuzz' });
    store.apply(PRODUCTION_TEXT);
    // Decision lines arrive in groups, several lines to a write.
    const logger = createLogger({ destination: { write: (text: string) => logLines.push(...text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Json)) } });
    server = createServer(createApp({ store, metrics: new Metrics('file'), logger, isDraining: () => false }));
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

  it('logs one decision line per 200 answer and none for a 4xx', async () => {
    const since = logLines.length;
    let decided = 0;
    const bodies = [...fc.sample(wellFormed, 30).map((request) => JSON.stringify(request)), ...fc.sample(mutated, 30)];
    for (const body of bodies) if ((await post(body)).status === 200) decided += 1;
    expect(decided, 'some of the requests are decided').to.be.greaterThan(0);
    const lines = logLines.slice(since);
    expect(lines.filter((line) => line.msg === 'decision')).to.have.length(decided);
    expect(lines.some((line) => line.msg === 'request failed')).to.equal(false);
  });
});
