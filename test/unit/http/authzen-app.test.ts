/**
 * The AuthZEN endpoints through createApp in-process: the property that an evaluation and the
 * equivalent /v1/check give the same decision, id, log line and metrics; caller
 * authentication; and the answers while no registry is loaded.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import { FlexAuthClient } from '../../../src/client/flex-auth-client.js';
import { BearerTokens } from '../../../src/http/auth.js';
import { createApp } from '../../../src/http/app.js';
import { createLogger } from '../../../src/logger.js';
import { Metrics } from '../../../src/metrics.js';
import { RegistryStore } from '../../../src/registry/store.js';
import { EVALUATION, EVALUATIONS, METADATA, postAuthzen, SEARCH_ACTION, SEARCH_RESOURCE, SEARCH_SUBJECT } from '../../helpers/authzen.js';
import { getJson, postCheck } from '../../helpers/http.js';
import { PRODUCTION_TEXT, wellFormed } from '../../helpers/request-arbitraries.js';
import type { Json } from '../../helpers/request-arbitraries.js';

interface Harness {
  readonly url: string;
  readonly store: RegistryStore;
  readonly logLines: Record<string, any>[];
  readonly server: Server;
}

async function harness(tokens?: BearerTokens): Promise<Harness> {
  const logLines: Record<string, any>[] = [];
  const logger = createLogger({
    destination: { write: (lines: string) => { for (const line of lines.split('\n').filter(Boolean)) logLines.push(JSON.parse(line)); } },
  });
  const store = new RegistryStore({ kind: 'file', name: 'file:/registry.json' });
  const app = createApp({ store, metrics: new Metrics('file'), logger, isDraining: () => false, ...(tokens ? { tokens: () => tokens } : {}) });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, store, logLines, server };
}

function close(h: Harness | undefined): Promise<void> {
  return new Promise((resolve) => (h ? h.server.close(() => resolve()) : resolve()));
}

/** The v1 check body as the AuthZEN evaluation the contract (section 11) maps it to. */
function asAuthzen(check: Json): Json {
  const context = check.context ?? {};
  const properties = { ...(context.ttl === undefined ? {} : { ttl: context.ttl }), ...(context.principals === undefined ? {} : { principals: context.principals }) };
  return {
    subject: { type: 'identity', id: check.subject.id },
    action: { name: check.action, properties },
    resource: { type: check.resource.type ?? 'ssh_actor', id: check.resource.id },
    ...(context.metadata === undefined ? {} : { context: context.metadata }),
  };
}

describe('AuthZEN through createApp', function () {
  describe('equivalence with /v1/check', function () {
    let h: Harness;
    before(async function () {
      h = await harness();
      h.store.apply(PRODUCTION_TEXT);
    });
    after(() => close(h));

    it('gives, for any well-formed check, the same decision, id, reason, message, grant and log line', async function () {
      let run = 0;
      await fc.assert(fc.asyncProperty(wellFormed, async (check) => {
        const requestId = `equivalence-${++run}`;
        const headers = { 'X-Request-ID': requestId };
        const before = h.logLines.length;
        const viaCheck = await postCheck(h.url, check, { headers });
        const viaAuthzen = await postAuthzen(h.url, EVALUATION, asAuthzen(check), headers);
        expect(viaAuthzen.status, viaAuthzen.text).to.equal(viaCheck.status);
        if (viaCheck.status !== 200) return; // a request the check refuses is refused here too
        const { allow, message, ...rest } = viaCheck.body;
        expect(viaAuthzen.body.decision).to.equal(allow);
        const { warnings: _warnings, reason_admin: reasonAdmin, ...context } = viaAuthzen.body.context;
        expect(context).to.deep.equal(rest);
        expect(reasonAdmin?.en).to.equal(message);
        const lines = h.logLines.slice(before).filter((line) => line.msg === 'decision');
        expect(lines).to.have.length(2);
        // Each line has its own place in the chain, and AuthZEN names what it ignored.
        const comparable = ({ time: _t, duration_ms: _d, seq: _s, chain: _c, warnings: _w, ...line }: Record<string, any>) => line;
        expect(comparable(lines[1]!)).to.deep.equal(comparable(lines[0]!));
      }), { numRuns: 150 });

      // Each label set was counted once through each lane: every count is even.
      const metrics = (await getJson(h.url, '/metrics')).text;
      const counts = [...metrics.matchAll(/^flex_auth_decisions_total\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
      expect(counts.length).to.be.greaterThan(1);
      expect(counts.filter((count) => count % 2 !== 0), metrics).to.deep.equal([]);
    });
  });

  describe('caller authentication, as for /v1/check, and FlexAuthClient.evaluate', function () {
    const token = randomBytes(24).toString('hex');
    let h: Harness;
    before(async function () {
      h = await harness(BearerTokens.parse(token));
      h.store.apply(PRODUCTION_TEXT);
    });
    after(() => close(h));

    const body = { subject: { type: 'identity', id: 'agt-state-hub-bridge' }, action: { name: 'sign' }, resource: { type: 'ssh_actor', id: 'agt-state-hub-bridge' } };
    const routes = [EVALUATION, EVALUATIONS, SEARCH_SUBJECT, SEARCH_RESOURCE, SEARCH_ACTION];

    it('answers 401 with a challenge without a valid bearer token, before reading the body', async function () {
      for (const route of routes) {
        for (const headers of [{}, { Authorization: `Bearer ${token}x` }] as Record<string, string>[]) {
          const result = await postAuthzen(h.url, route, '{not json', headers);
          expect(result.status, `${route}: ${result.text}`).to.equal(401);
          expect(result.headers.get('www-authenticate')).to.match(/^Bearer/);
        }
      }
      expect(h.logLines.filter((line) => line.msg === 'decision')).to.deep.equal([]);
    });

    it('answers with a valid token', async function () {
      for (const route of routes) {
        const result = await postAuthzen(h.url, route, route === SEARCH_SUBJECT ? { ...body, subject: { type: 'identity' } } : body, { Authorization: `Bearer ${token}` });
        expect(result.status, `${route}: ${result.text}`).to.equal(200);
      }
    });

    it('serves the discovery document without a token: it holds no secret and tells a client where to call', async function () {
      expect((await getJson(h.url, METADATA)).status).to.equal(200);
    });

    describe('FlexAuthClient.evaluate', function () {
      const carol = { type: 'identity', id: 'iam:carol' };
      const backup = { type: 'ssh_actor', id: 'atm-backup-daily' };

      it('allows with the grant and decision id, and surfaces warnings, through the real app', async function () {
        const client = new FlexAuthClient({ baseUrl: h.url, token });
        const outcome = await client.evaluate({ subject: carol, action: { name: 'sign', properties: { ttl: '4h', principles: ['x'] } }, resource: backup }, { requestId: 'client-1' });
        expect(outcome.decision, JSON.stringify(outcome)).to.equal(true);
        expect(outcome.context?.grant.ttl_seconds).to.equal(14400);
        expect(outcome.context?.warnings.join('\n')).to.include('principles');
        const line = h.logLines.find((entry) => entry.msg === 'decision' && entry.request_id === 'client-1');
        expect(line, 'the decision line').to.not.equal(undefined);
        // The typo is named in the decision line too, not only in the answer.
        expect((line!.warnings as string[]).join('\n')).to.include('action.properties.principles');
      });

      it('writes no warnings field on a decision line without warnings', async function () {
        const client = new FlexAuthClient({ baseUrl: h.url, token });
        await client.evaluate({ subject: carol, action: { name: 'sign', properties: { ttl: '4h' } }, resource: backup }, { requestId: 'client-quiet' });
        const line = h.logLines.find((entry) => entry.msg === 'decision' && entry.request_id === 'client-quiet');
        expect(line).to.not.have.property('warnings');
      });

      it('denies with the policy reason and message, and fails closed on 401, 400 and an unreachable PDP', async function () {
        const client = new FlexAuthClient({ baseUrl: h.url, token });
        const denied = await client.evaluate({ subject: carol, action: { name: 'sign', properties: { ttl: '99h' } }, resource: backup });
        expect(denied).to.include({ decision: false, reason: 'ttl_out_of_bounds', status: 200 });
        const unauthenticated = await new FlexAuthClient({ baseUrl: h.url }).evaluate({ subject: carol, action: { name: 'sign' }, resource: backup });
        expect(unauthenticated).to.include({ decision: false, status: 401 });
        const bad = await client.evaluate({ subject: carol, action: { name: 'sign', properties: { ttl: 'soon' } }, resource: backup });
        expect(bad).to.include({ decision: false, status: 400 });
        const gone = await new FlexAuthClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 500 }).evaluate({ subject: carol, action: { name: 'sign' }, resource: backup });
        expect(gone).to.include({ decision: false, reason: 'unreachable' });
      });
    });
  });

  describe('before a registry is loaded', function () {
    let h: Harness;
    before(async function () {
      h = await harness();
    });
    after(() => close(h));

    const body = { subject: { type: 'identity', id: 'iam:alice' }, action: { name: 'sign' }, resource: { type: 'ssh_actor', id: 'agt-a' } };

    it('answers evaluations 503 with "decision": false and reason registry_unavailable, logged as /v1/check does', async function () {
      const one = await postAuthzen(h.url, EVALUATION, body);
      expect(one.status, one.text).to.equal(503);
      expect(one.body.decision).to.equal(false);
      expect(one.body.context.reason).to.equal('registry_unavailable');
      const batch = await postAuthzen(h.url, EVALUATIONS, { ...body, evaluations: [{}, {}] });
      expect(batch.status, batch.text).to.equal(503);
      expect(batch.body.evaluations.map((e: any) => [e.decision, e.context.reason])).to.deep.equal([[false, 'registry_unavailable'], [false, 'registry_unavailable']]);
      expect(h.logLines.filter((line) => line.msg === 'decision' && line.reason === 'registry_unavailable')).to.have.length(3);
    });

    it('answers a search 503, and a malformed request 400 whatever the registry state', async function () {
      const search = await postAuthzen(h.url, SEARCH_ACTION, body);
      expect(search.status, search.text).to.equal(503);
      for (const route of [EVALUATION, EVALUATIONS, SEARCH_SUBJECT, SEARCH_RESOURCE, SEARCH_ACTION]) {
        expect((await postAuthzen(h.url, route, { action: { name: 'sign' } })).status, route).to.equal(400);
      }
    });
  });

});
