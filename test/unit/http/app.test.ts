import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createApp } from '../../../src/http/app.js';
import { createLogger } from '../../../src/logger.js';
import { Metrics } from '../../../src/metrics.js';
import { RegistryStore } from '../../../src/registry/store.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';

interface Harness {
  url: string;
  store: RegistryStore;
  metrics: Metrics;
  logLines: Record<string, unknown>[];
  setDraining(value: boolean): void;
  server: Server;
}

/** `refuse` makes the log destination throw for the lines it matches, as a broken stdout would. */
async function harness(store = new RegistryStore({ kind: 'file', name: 'file:/registry.json' }), refuse = (_line: string) => false): Promise<Harness> {
  const logLines: Record<string, unknown>[] = [];
  const logger = createLogger({
    destination: {
      write: (lines: string) => {
        if (refuse(lines)) throw new Error('EPIPE');
        for (const line of lines.split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  const metrics = new Metrics('file');
  store.onReload((event) => metrics.recordReload(event));
  let draining = false;
  const server = createServer(createApp({ store, metrics, logger, isDraining: () => draining }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, store, metrics, logLines, server, setDraining: (value) => { draining = value; } };
}

function postCheck(h: Harness, body: unknown, query = ''): Promise<Response> {
  return fetch(`${h.url}/v1/check${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

const check = (actor: string, action = 'sign') => ({ subject: { id: actor }, action, resource: { id: actor } });

async function metricValue(h: Harness, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = (await h.metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l));
  return value?.value;
}

describe('the HTTP app', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await harness();
  });

  afterEach(async () => {
    await new Promise((resolve) => h.server.close(resolve));
  });

  describe('with no registry loaded', () => {
    it('fails closed with 503 registry_unavailable, logged and counted like a decision', async () => {
      const response = await postCheck(h, check('agt-a'));
      expect(response.status).to.equal(503);
      expect(await response.json()).to.deep.include({ allow: false, reason: 'registry_unavailable' });
      expect(h.logLines.filter((line) => line.msg === 'decision').map((line) => line.reason)).to.deep.equal(['registry_unavailable']);
      expect(await metricValue(h, 'flex_auth_decisions_total', { action: 'other', allow: 'false', reason: 'registry_unavailable' })).to.equal(1);
    });

    it('still answers a malformed check with 400', async () => {
      const response = await postCheck(h, { subject: {} });
      expect(response.status).to.equal(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).to.equal('invalid_request');
    });

    it('is live but not ready', async () => {
      expect((await fetch(`${h.url}/healthz`)).status).to.equal(200);
      const ready = await fetch(`${h.url}/readyz`);
      expect(ready.status).to.equal(503);
      expect(await ready.json()).to.include({ ready: false, source: 'file:/registry.json', revision: null });
      const registry = await fetch(`${h.url}/v1/registry`);
      expect(registry.status).to.equal(503);
      expect(await registry.json()).to.deep.equal({ error: { code: 'registry_unavailable', message: 'no valid registry is loaded yet', details: [] } });
      expect(h.logLines.filter((line) => line.msg === 'request failed')).to.deep.equal([]);
      expect(await metricValue(h, 'flex_auth_registry_ready')).to.equal(0);
    });
  });

  describe('with a registry loaded', () => {
    beforeEach(() => {
      h.store.apply(text(registryDocument([actorEntry('agt-a', { actions: ['sign', 'audit'] })])));
    });

    it('writes the decision log line before the reply, with the reply\'s ids and no request body', async () => {
      const response = await fetch(`${h.url}/v1/check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-42' },
        body: JSON.stringify({ ...check('agt-a'), context: { principals: ['agt-a'], metadata: { ticket: 'T-1', password: 'hunter2' } } }),
      });
      const decision = (await response.json()) as { decision_id: string; registry_revision: string };
      const lines = h.logLines.filter((line) => line.msg === 'decision');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include({ decision_id: decision.decision_id, request_id: 'req-42', allow: true, reason: 'allowed', subject: 'agt-a', action: 'sign', registry_revision: decision.registry_revision });
      expect(lines[0]).to.have.property('time');
      expect(lines[0]!.duration_ms).to.be.a('number');
      expect(lines[0]!.metadata_keys).to.deep.equal(['ticket', 'password']);
      expect(JSON.stringify(lines[0])).not.to.include('hunter2');
      expect(response.headers.get('x-request-id')).to.equal('req-42');
    });

    it('counts decisions by known action, and callers\' own actions as other', async () => {
      await postCheck(h, check('agt-a'));
      await postCheck(h, check('agt-a', 'audit'));
      await postCheck(h, check('agt-a', 'exfiltrate-everything'));
      expect(await metricValue(h, 'flex_auth_decisions_total', { action: 'sign', allow: 'true', reason: 'allowed' })).to.equal(1);
      expect(await metricValue(h, 'flex_auth_decisions_total', { action: 'audit', allow: 'true', reason: 'allowed' })).to.equal(1);
      expect(await metricValue(h, 'flex_auth_decisions_total', { action: 'other', allow: 'false', reason: 'action_not_allowed' })).to.equal(1);
    });

    it('labels HTTP requests by route pattern, never by raw path', async () => {
      await fetch(`${h.url}/no/such/path/with-an-id-123`);
      await fetch(`${h.url}/healthz`);
      expect(await metricValue(h, 'flex_auth_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' })).to.equal(1);
      expect(await metricValue(h, 'flex_auth_http_requests_total', { route: '/healthz', method: 'GET', status: '200' })).to.equal(1);
    });

    it('serves routes at their exact path only: a trailing slash or other case is a 404, counted as unmatched', async () => {
      for (const path of ['/healthz/', '/HEALTHZ', '/v1/registry/']) expect((await fetch(`${h.url}${path}`)).status, path).to.equal(404);
      const evaluation = { subject: { type: 'identity', id: 'agt-a' }, action: { name: 'sign' }, resource: { type: 'ssh_actor', id: 'agt-a' } };
      const slashed = await fetch(`${h.url}/access/v1/evaluation/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(evaluation) });
      expect(slashed.status).to.equal(404);
      expect(await metricValue(h, 'flex_auth_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' })).to.equal(3);
      expect(await metricValue(h, 'flex_auth_http_requests_total', { route: 'unmatched', method: 'POST', status: '404' })).to.equal(1);
      expect(await metricValue(h, 'flex_auth_decisions_total', { action: 'sign', allow: 'true', reason: 'allowed' })).to.equal(undefined);
    });

    it('keeps exactly one registry info series, for the active revision', async () => {
      const before = h.store.status().revision;
      h.store.apply(text(registryDocument([actorEntry('agt-z')])));
      const series = (await h.metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'flex_auth_registry_info')!.values;
      expect(series).to.have.length(1);
      expect(series[0]!.labels).to.deep.equal({ revision: h.store.status().revision, source: 'file' });
      expect(series[0]!.labels.revision).not.to.equal(before);
    });

    it('rejects ?explain values other than true and false', async () => {
      expect((await postCheck(h, check('agt-a'), '?explain=yes')).status).to.equal(400);
      expect(await (await postCheck(h, check('agt-a'), '?explain=false')).json()).not.to.have.property('trace');
    });

    it('answers /readyz with 503 once shutdown has begun', async () => {
      expect((await fetch(`${h.url}/readyz`)).status).to.equal(200);
      h.setDraining(true);
      const response = await fetch(`${h.url}/readyz`);
      expect(response.status).to.equal(503);
      expect(await response.json()).to.include({ ready: false, shutting_down: true });
    });
  });

  it('answers 500, and counts no decision, when the decision line cannot be written', async () => {
    const store = new RegistryStore({ kind: 'file', name: 'file:/registry.json' });
    store.apply(text(registryDocument([actorEntry('agt-a')])));
    let broken = true;
    const b = await harness(store, (lines) => broken && lines.includes('"msg":"decision"'));
    try {
      const response = await postCheck(b, check('agt-a'));
      expect(response.status).to.equal(500);
      expect(await response.json()).to.deep.equal({ error: { code: 'internal_error', message: 'internal error', details: [] } });
      expect(await metricValue(b, 'flex_auth_decisions_total', { action: 'sign' })).to.equal(undefined);
      expect(await metricValue(b, 'flex_auth_http_requests_total', { route: '/v1/check', status: '500' })).to.equal(1);
      // Nothing is wedged: with the log writable again, checks are answered and logged.
      broken = false;
      expect((await postCheck(b, check('agt-a'))).status).to.equal(200);
      expect(b.logLines.filter((line) => line.msg === 'decision')).to.have.length(1);
    } finally {
      await new Promise((resolve) => b.server.close(resolve));
    }
  });

  it('turns an unexpected failure into a generic 500 with no stack trace', async () => {
    const broken = new RegistryStore({ kind: 'file', name: 'file:/x' });
    broken.current = () => { throw new Error('secret internal detail'); };
    const b = await harness(broken);
    try {
      const response = await postCheck(b, check('agt-a'));
      const body = await response.text();
      expect(response.status).to.equal(500);
      expect(JSON.parse(body)).to.deep.equal({ error: { code: 'internal_error', message: 'internal error', details: [] } });
      expect(body).not.to.match(/secret|at .*\.js/);
      expect(b.logLines.some((line) => line.msg === 'request failed')).to.equal(true);
    } finally {
      await new Promise((resolve) => b.server.close(resolve));
    }
  });
});
