/**
 * Unit tests of src/metrics.ts: every contract metric moves as it should for an allow, each deny
 * reason, a reload success and a reload failure; the info series swaps on reload; the default
 * Node.js metrics are lint-clean (no gauge named `*_total`). Expectations come from the contract
 * and from the requests and registries the tests themselves send, never from the code under test.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createApp } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { Metrics } from '../../src/metrics.js';
import { RegistryStore } from '../../src/registry/store.js';
import type { SourceKind } from '../../src/sources/source.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const PRODUCTION = path.join(ROOT, 'examples', 'ops-warden', 'production_registry_snapshot.json');
const REQUESTS = path.join(ROOT, 'examples', 'requests');

/** The contract's deny reasons (section 3), plus the 503 fail-closed answer. */
const DENY_REASONS = [
  'unsupported_resource_type',
  'unknown_actor_resource',
  'actor_disabled',
  'action_not_allowed',
  'subject_not_allowed',
  'principal_not_allowed',
  'cert_type_not_allowed',
  'extension_not_allowed',
  'critical_option_not_allowed',
  'ttl_out_of_bounds',
  'registry_unavailable',
] as const;
const ACTOR_TYPES = ['agent', 'admin', 'automation', 'service', 'human'] as const;

type Labels = Record<string, string>;
interface Sample {
  readonly labels: Labels;
  readonly value: number;
  readonly metricName?: string;
}
type Doc = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// Independent helpers: the test's own canonical JSON, revision and counts.

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record).sort().map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function revisionOf(document: Doc): string {
  return `sha256:${createHash('sha256').update(canonicalJson(document)).digest('hex')}`;
}

function actorsByType(document: Doc): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(ACTOR_TYPES.map((type) => [type, 0]));
  for (const actor of document.actors as Doc[]) counts[actor.type as string]! += 1;
  return counts;
}

function registryWith(name: string, actors: Doc[], relationships: Doc[] = []): Doc {
  return { schema: 'flex-auth.registry/v1', metadata: { name }, actors, relationships };
}

function actor(name: string, type: string, extra: Doc = {}): Doc {
  return { name, type, principals: [name], ttl: { default: '1h', max: '8h' }, allowed_subjects: [name], ...extra };
}

// ---------------------------------------------------------------------------------------------
// Reading the registry back.

async function samples(metrics: Metrics, name: string): Promise<Sample[]> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  return values.map((v) => ({
    labels: Object.fromEntries(Object.entries(v.labels).map(([k, l]) => [k, String(l)])),
    value: v.value,
    ...('metricName' in v && v.metricName ? { metricName: v.metricName as string } : {}),
  }));
}

/** The value of the series with exactly these labels (0 when absent, as Prometheus would see it). */
async function value(metrics: Metrics, name: string, labels: Labels = {}, metricName = name): Promise<number> {
  const found = (await samples(metrics, name)).filter(
    (s) => (s.metricName ?? name) === metricName && canonicalJson(s.labels) === canonicalJson(labels),
  );
  if (found.length > 1) throw new Error(`${metricName}${JSON.stringify(labels)} matches ${found.length} series`);
  return found[0]?.value ?? 0;
}

/** Every series of a counter, as `labels json -> value`, leaving out zeros. */
async function nonZero(metrics: Metrics, name: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await samples(metrics, name)) if (s.value !== 0) out[canonicalJson(s.labels)] = s.value;
  return out;
}

const key = (labels: Labels): string => canonicalJson(labels);

async function histogramCount(metrics: Metrics): Promise<number> {
  return value(metrics, 'flex_auth_check_duration_seconds', {}, 'flex_auth_check_duration_seconds_count');
}

// ---------------------------------------------------------------------------------------------

describe('metrics (src/metrics.ts)', () => {
  describe('a fresh instance', () => {
    it('is not ready, has zeroed reload counters for its source kind, and no registry series', async () => {
      const metrics = new Metrics('configmap');
      expect(await value(metrics, 'flex_auth_registry_ready')).to.equal(0);
      expect(await samples(metrics, 'flex_auth_registry_reloads_total')).to.have.deep.members([
        { labels: { source: 'configmap', result: 'success' }, value: 0 },
        { labels: { source: 'configmap', result: 'failure' }, value: 0 },
      ]);
      expect(await samples(metrics, 'flex_auth_registry_info')).to.deep.equal([]);
      expect(await samples(metrics, 'flex_auth_decisions_total')).to.deep.equal([]);
      expect(await histogramCount(metrics)).to.equal(0);
      expect(await samples(metrics, 'flex_auth_decision_log_failures_total')).to.deep.equal([{ labels: {}, value: 0 }]);
    });

    it('counts checks refused because their decision line could not be written, with no labels', async () => {
      const metrics = new Metrics('file');
      metrics.recordDecisionLogFailure();
      metrics.recordDecisionLogFailure();
      expect(await samples(metrics, 'flex_auth_decision_log_failures_total')).to.deep.equal([{ labels: {}, value: 2 }]);
    });

    it('keeps its own counters: two instances in one process share nothing', async () => {
      const a = new Metrics('file');
      const b = new Metrics('file');
      a.recordDecision('sign', true, 'allowed', 0.001);
      expect(await value(a, 'flex_auth_decisions_total', { action: 'sign', allow: 'true', reason: 'allowed' })).to.equal(1);
      expect(await samples(b, 'flex_auth_decisions_total')).to.deep.equal([]);
    });
  });

  describe('recordDecision', () => {
    it('counts an allow once, under action, allow="true" and reason="allowed", and observes its duration in seconds', async () => {
      const metrics = new Metrics('embedded');
      metrics.recordDecision('sign', true, 'allowed', 0.0003);
      expect(await nonZero(metrics, 'flex_auth_decisions_total')).to.deep.equal({ [key({ action: 'sign', allow: 'true', reason: 'allowed' })]: 1 });
      expect(await histogramCount(metrics)).to.equal(1);
      expect(await value(metrics, 'flex_auth_check_duration_seconds', {}, 'flex_auth_check_duration_seconds_sum')).to.be.closeTo(0.0003, 1e-12);
      // 0.3 ms lands in the 0.5 ms bucket, not the 0.25 ms one: the unit is seconds.
      const bucket = (le: string) => value(metrics, 'flex_auth_check_duration_seconds', { le }, 'flex_auth_check_duration_seconds_bucket');
      expect(await bucket('0.00025')).to.equal(0);
      expect(await bucket('0.0005')).to.equal(1);
      expect(await bucket('+Inf')).to.equal(1);
    });

    for (const reason of DENY_REASONS) {
      it(`counts a denial for ${reason} once, under allow="false" and its reason, and nothing else`, async () => {
        const metrics = new Metrics('file');
        metrics.recordDecision('sign', true, 'allowed', 0.0001);
        metrics.recordDecision('other', false, reason, 0.002);
        metrics.recordDecision('other', false, reason, 0.002);
        expect(await nonZero(metrics, 'flex_auth_decisions_total')).to.deep.equal({
          [key({ action: 'sign', allow: 'true', reason: 'allowed' })]: 1,
          [key({ action: 'other', allow: 'false', reason })]: 2,
        });
        expect(await histogramCount(metrics)).to.equal(3);
      });
    }
  });

  describe('recordHttp', () => {
    it('counts by route, method and status', async () => {
      const metrics = new Metrics('file');
      metrics.recordHttp('/v1/check', 'POST', 200);
      metrics.recordHttp('/v1/check', 'POST', 200);
      metrics.recordHttp('/v1/check', 'POST', 503);
      metrics.recordHttp('unmatched', 'GET', 404);
      expect(await nonZero(metrics, 'flex_auth_http_requests_total')).to.deep.equal({
        [key({ route: '/v1/check', method: 'POST', status: '200' })]: 2,
        [key({ route: '/v1/check', method: 'POST', status: '503' })]: 1,
        [key({ route: 'unmatched', method: 'GET', status: '404' })]: 1,
      });
    });
  });

  describe('through the HTTP app, one request per reason (examples/requests)', () => {
    const production = JSON.parse(readFileSync(PRODUCTION, 'utf8')) as Doc;
    // The actions some actor has (default ["sign"]); any other action is counted as "other".
    const knownActions = new Set((production.actors as Doc[]).flatMap((a) => (a.actions as string[] | undefined) ?? ['sign']));
    const files = readdirSync(REQUESTS).filter((f) => f.endsWith('.json')).sort();
    let server: Server | undefined;
    let url: string;
    let metrics: Metrics;
    let store: RegistryStore;

    async function start(loaded: boolean): Promise<void> {
      store = new RegistryStore({ kind: 'embedded', name: 'embedded:test' });
      metrics = new Metrics('embedded');
      store.onReload((event) => metrics.recordReload(event));
      if (loaded) expect(store.apply(readFileSync(PRODUCTION, 'utf8'))).to.equal('loaded');
      const logger = createLogger({ destination: { write: () => {} } });
      const listening = createServer(createApp({ store, metrics, logger, isDraining: () => false }));
      server = listening;
      await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
    }

    afterEach(async () => {
      const running = server;
      server = undefined;
      if (running) await new Promise((resolve) => running.close(resolve));
    });

    const post = (body: string) => fetch(`${url}/v1/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

    it('has an example request for allow and for every registry deny reason', () => {
      const reasons = new Set(files.map((f) => (f.startsWith('allow-') ? 'allowed' : f.replace(/^deny-/, '').replace(/\.json$/, '').replaceAll('-', '_'))));
      expect([...reasons].sort()).to.deep.equal(['allowed', ...DENY_REASONS.filter((r) => r !== 'registry_unavailable')].sort());
    });

    for (const file of files) {
      // The expected reason is in the file name: allow-*.json or deny-<reason>.json.
      const reason = file.startsWith('allow-') ? 'allowed' : file.replace(/^deny-/, '').replace(/\.json$/, '').replaceAll('-', '_');
      it(`${file}: decisions_total{reason="${reason}"}, the duration histogram and http_requests_total{status="200"} each rise by one`, async () => {
        await start(true);
        const body = readFileSync(path.join(REQUESTS, file), 'utf8');
        const request = JSON.parse(body) as Doc;
        const labels = { action: knownActions.has(request.action as string) ? (request.action as string) : 'other', allow: String(reason === 'allowed'), reason };
        const response = await post(body);
        expect(response.status).to.equal(200);
        expect(((await response.json()) as Doc).reason).to.equal(reason);
        expect(await nonZero(metrics, 'flex_auth_decisions_total')).to.deep.equal({ [key(labels)]: 1 });
        expect(await histogramCount(metrics)).to.equal(1);
        expect(await nonZero(metrics, 'flex_auth_http_requests_total')).to.deep.equal({ [key({ route: '/v1/check', method: 'POST', status: '200' })]: 1 });
        // Bounded labels only: the subject and the actor appear nowhere in the exposition.
        const text = await metrics.registry.metrics();
        for (const id of [request.subject.id as string, request.resource.id as string]) expect(text).not.to.include(`"${id}"`);
      });
    }

    it('counts a caller-made action as "other", never as a new label value', async () => {
      await start(true);
      const invented = 'exfiltrate-everything-7f3a';
      await post(JSON.stringify({ subject: { id: 'agt-state-hub-bridge' }, action: invented, resource: { id: 'agt-state-hub-bridge' } }));
      expect(await nonZero(metrics, 'flex_auth_decisions_total')).to.deep.equal({ [key({ action: 'other', allow: 'false', reason: 'action_not_allowed' })]: 1 });
      expect(await metrics.registry.metrics()).not.to.include(invented);
    });

    it('counts registry_unavailable (503) as a decision with action "other"', async () => {
      await start(false);
      const response = await post(readFileSync(path.join(REQUESTS, 'allow-iam-subject.json'), 'utf8'));
      expect(response.status).to.equal(503);
      expect(await nonZero(metrics, 'flex_auth_decisions_total')).to.deep.equal({ [key({ action: 'other', allow: 'false', reason: 'registry_unavailable' })]: 1 });
      expect(await histogramCount(metrics)).to.equal(1);
      expect(await nonZero(metrics, 'flex_auth_http_requests_total')).to.deep.equal({ [key({ route: '/v1/check', method: 'POST', status: '503' })]: 1 });
    });

    it('counts a malformed check as an HTTP 400 but not as a decision', async () => {
      await start(true);
      expect((await post('{"subject":')).status).to.equal(400);
      expect(await samples(metrics, 'flex_auth_decisions_total')).to.deep.equal([]);
      expect(await histogramCount(metrics)).to.equal(0);
      expect(await nonZero(metrics, 'flex_auth_http_requests_total')).to.deep.equal({ [key({ route: '/v1/check', method: 'POST', status: '400' })]: 1 });
    });
  });

  describe('recordReload', () => {
    const docA = registryWith('a', [actor('agt-a', 'agent'), actor('adm-a', 'admin'), actor('atm-a', 'automation')], [
      { object: 'group:ops', relation: 'member', subject: 'iam:alice' },
      { object: 'actor:atm-a', relation: 'signer', subject: 'group:ops#member' },
    ]);
    const docB = registryWith('b', [actor('agt-b', 'agent'), actor('agt-c', 'agent'), actor('svc-b', 'service'), actor('hum-b', 'human')]);
    const invalid = { ...docB, actors: [{ ...actor('agt-x', 'agent'), allowed_subject: ['agt-x'] }] }; // the contract's typo

    function harness(kind: SourceKind = 'file') {
      let now = new Date('2026-06-23T12:00:00Z');
      const store = new RegistryStore({ kind, name: `${kind}:test` }, { now: () => now });
      const metrics = new Metrics(kind);
      store.onReload((event) => metrics.recordReload(event));
      return { store, metrics, setNow: (iso: string) => { now = new Date(iso); } };
    }

    async function reloads(metrics: Metrics, source: string) {
      return {
        success: await value(metrics, 'flex_auth_registry_reloads_total', { source, result: 'success' }),
        failure: await value(metrics, 'flex_auth_registry_reloads_total', { source, result: 'failure' }),
      };
    }

    async function expectRegistryGauges(metrics: Metrics, document: Doc, source: string, loadedAtSeconds: number) {
      expect(await samples(metrics, 'flex_auth_registry_info')).to.deep.equal([{ labels: { revision: revisionOf(document), source }, value: 1 }]);
      const byType = actorsByType(document);
      for (const type of ACTOR_TYPES) expect(await value(metrics, 'flex_auth_registry_actors', { type }), `actors{type="${type}"}`).to.equal(byType[type]);
      expect(await value(metrics, 'flex_auth_registry_relationships')).to.equal((document.relationships as Doc[]).length);
      expect(await value(metrics, 'flex_auth_registry_last_success_timestamp_seconds')).to.equal(loadedAtSeconds);
      expect(await value(metrics, 'flex_auth_registry_ready')).to.equal(1);
    }

    it('on success: counts it, sets info to the revision, the actor and relationship gauges, the timestamp and ready', async () => {
      const { store, metrics } = harness('file');
      expect(store.apply(JSON.stringify(docA))).to.equal('loaded');
      expect(await reloads(metrics, 'file')).to.deep.equal({ success: 1, failure: 0 });
      await expectRegistryGauges(metrics, docA, 'file', Date.parse('2026-06-23T12:00:00Z') / 1000);
    });

    it('on failure before any success: counts it and stays not ready, with no info series', async () => {
      const { store, metrics } = harness('configmap');
      expect(store.apply(JSON.stringify(invalid))).to.equal('rejected');
      store.fail('ConfigMap flex-auth/flex-auth-registry was deleted');
      expect(await reloads(metrics, 'configmap')).to.deep.equal({ success: 0, failure: 2 });
      expect(await value(metrics, 'flex_auth_registry_ready')).to.equal(0);
      expect(await samples(metrics, 'flex_auth_registry_info')).to.deep.equal([]);
      expect(await value(metrics, 'flex_auth_registry_last_success_timestamp_seconds')).to.equal(0);
    });

    it('on failure after a success: counts it and keeps every registry gauge of the last good revision', async () => {
      const { store, metrics, setNow } = harness('file');
      store.apply(JSON.stringify(docA));
      setNow('2026-06-23T13:00:00Z');
      expect(store.apply(JSON.stringify(invalid))).to.equal('rejected');
      store.fail('cannot read /etc/flex-auth/registry.json: ENOENT');
      expect(await reloads(metrics, 'file')).to.deep.equal({ success: 1, failure: 2 });
      await expectRegistryGauges(metrics, docA, 'file', Date.parse('2026-06-23T12:00:00Z') / 1000);
    });

    it('swaps the info series on reload: exactly one series, for the active revision only', async () => {
      const { store, metrics, setNow } = harness('embedded');
      store.apply(JSON.stringify(docA));
      setNow('2026-06-23T12:05:00Z');
      expect(store.apply(JSON.stringify(docB))).to.equal('loaded');
      await expectRegistryGauges(metrics, docB, 'embedded', Date.parse('2026-06-23T12:05:00Z') / 1000);
      setNow('2026-06-23T12:10:00Z');
      expect(store.apply(JSON.stringify(docA))).to.equal('loaded');
      await expectRegistryGauges(metrics, docA, 'embedded', Date.parse('2026-06-23T12:10:00Z') / 1000);
      expect(await reloads(metrics, 'embedded')).to.deep.equal({ success: 3, failure: 0 });
    });

    it('does not count an unchanged revision (the same document re-formatted) as a reload', async () => {
      const { store, metrics } = harness('file');
      store.apply(JSON.stringify(docA));
      expect(store.apply(JSON.stringify(docA, null, 2))).to.equal('unchanged');
      expect(await reloads(metrics, 'file')).to.deep.equal({ success: 1, failure: 0 });
    });
  });

  describe('default Node.js metrics', () => {
    it('expose nodejs_active_{handles,requests,resources} and none of the *_total gauges that fail promtool', async () => {
      const metrics = new Metrics('file');
      const text = await metrics.registry.metrics();
      const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
      for (const name of ['nodejs_active_handles', 'nodejs_active_requests', 'nodejs_active_resources']) {
        expect(types.get(name), name).to.equal('gauge');
        expect(types.has(`${name}_total`), `${name}_total`).to.equal(false);
        expect(metrics.registry.getSingleMetric(`${name}_total`), `${name}_total registered`).to.equal(undefined);
      }
      // The lint rule itself: no gauge (nor any non-counter) is named *_total.
      const offenders = [...types].filter(([name, type]) => name.endsWith('_total') && type !== 'counter').map(([name]) => name);
      expect(offenders).to.deep.equal([]);
      expect(types.get('process_cpu_user_seconds_total')).to.equal('counter');
    });
  });
});
