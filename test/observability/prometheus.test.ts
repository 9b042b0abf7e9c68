/**
 * flex-auth scraped by a real Prometheus (the Debian package's /usr/bin/prometheus), all on
 * 127.0.0.1: three `flex-auth serve` processes and one Prometheus with a 1 s scrape and rule
 * evaluation interval, its own temp config and TSDB, and deploy/prometheus/flex-auth-rules.yaml
 * loaded.
 *
 *   A  the embedded example registry; receives a known mix of checks
 *   B  --registry-file in a temp dir; the test rewrites the file (new revision, then invalid)
 *   C  --registry-file that does not exist: never ready, answers 503 registry_unavailable
 *
 * Expected values come from what the test sent and from the registry documents it wrote,
 * never from the code under test. Every wait is a bounded poll of Prometheus's HTTP API.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { DENY_REASONS } from '../../src/core/types.js';
import { makeTempDir, readJson, removeDir } from '../helpers/files.js';
import { DASHBOARD, PRODUCTION_REGISTRY, REQUESTS_DIR, RULES } from '../helpers/paths.js';
import { pollUntil } from '../helpers/poll.js';
import { findTool, Prometheus, promtool, startFlexAuth } from '../helpers/prometheus.js';
import type { FlexAuth, PromSample } from '../helpers/prometheus.js';
import { expectedRevision as revisionOf } from '../helpers/revision.js';

type Doc = Record<string, any>;
const ACTOR_TYPES = ['agent', 'admin', 'automation', 'service', 'human'];

function actorsByType(document: Doc): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(ACTOR_TYPES.map((type) => [type, 0]));
  for (const actor of document.actors as Doc[]) counts[actor.type as string]! += 1;
  return counts;
}

/** `{a="1",b="2"}` for the labels named, in a fixed order, for comparing sample sets. */
function labelKey(metric: Record<string, string>, names: readonly string[]): string {
  return names.map((name) => `${name}=${JSON.stringify(metric[name] ?? '')}`).join(',');
}

function asMap(samples: PromSample[], names: readonly string[]): Record<string, number> {
  return Object.fromEntries(samples.map((s) => [labelKey(s.metric, names), s.value]));
}

const sameMap = (a: Record<string, number>, b: Record<string, number>): boolean =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/** Replaces a file the way an editor or a ConfigMap volume does: write aside, then rename. */
function replaceFile(file: string, text: string): void {
  const aside = `${file}.tmp-${process.pid}`;
  writeFileSync(aside, text);
  renameSync(aside, file);
}

async function postCheck(base: string, body: string): Promise<{ status: number; json: Doc }> {
  const response = await fetch(`${base}/v1/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, json: (await response.json()) as Doc };
}

describe('flex-auth scraped by a real Prometheus', function () {
  let dir: string | undefined;
  let a: FlexAuth | undefined;
  let b: FlexAuth | undefined;
  let c: FlexAuth | undefined;
  let prom: Prometheus | undefined;

  const production = readJson<Doc>(PRODUCTION_REGISTRY);
  // B's documents: the production snapshot, then a new revision without one actor, then a typo.
  const bFirst: Doc = { ...production, metadata: { ...production.metadata, name: 'observability-b-1' } };
  const bSecond: Doc = {
    ...production,
    metadata: { ...production.metadata, name: 'observability-b-2' },
    actors: (production.actors as Doc[]).filter((actor) => actor.name !== 'agt-inventory-collector'),
  };
  const bInvalid: Doc = { ...bSecond, actors: [{ ...(bSecond.actors as Doc[])[0], allowed_subject: ['x'] }] };
  let bFile: string;

  before(async function () {
    this.timeout(120_000);
    // Without the tools this suite fails here, loudly, rather than skipping.
    findTool('prometheus');
    findTool('promtool');
    dir = await makeTempDir('flex-auth-observability-');
    const bDir = path.join(dir, 'b');
    const cDir = path.join(dir, 'c');
    for (const d of [bDir, cDir]) mkdirSync(d);
    bFile = path.join(bDir, 'registry.json');
    writeFileSync(bFile, JSON.stringify(bFirst, null, 2));
    [a, b, c] = await Promise.all([
      startFlexAuth('flex-auth A (embedded)'),
      startFlexAuth('flex-auth B (file)', ['--registry-file', bFile]),
      startFlexAuth('flex-auth C (missing file)', ['--registry-file', path.join(cDir, 'registry.json')]),
    ]);
    prom = await Prometheus.start(dir, [a.instance, b.instance, c.instance], [RULES]);
    await prom.waitFor('up{job="flex-auth"} == 1', (s) => s.length === 3, 'all three flex-auth targets up');
  });

  after(async function () {
    this.timeout(30_000);
    await Promise.all([prom?.stop(), a?.proc.stop(), b?.proc.stop(), c?.proc.stop()]);
    await removeDir(dir);
  });

  describe('scraping', () => {
    it('scrapes the three flex-auth targets every second', async () => {
      const data = (await prom!.api('targets', { state: 'active' })) as { activeTargets: Doc[] };
      const targets = data.activeTargets.filter((t) => t.labels.job === 'flex-auth');
      expect(targets.map((t) => t.labels.instance).sort()).to.deep.equal([a!.instance, b!.instance, c!.instance].sort());
      for (const target of targets) {
        expect(target.health, `${target.labels.instance}: ${target.lastError}`).to.equal('up');
        expect(target.scrapeInterval).to.equal('1s');
      }
    });
  });

  describe('decisions (instance A, the embedded registry)', () => {
    // The actions some actor has (default ["sign"]); the contract counts any other as "other".
    const knownActions = new Set((production.actors as Doc[]).flatMap((actor) => (actor.actions as string[] | undefined) ?? ['sign']));
    const invented = 'exfiltrate-7f3a';
    // One request per reason (examples/requests), sent a different number of times each, plus
    // a caller-made action. The expected reason is in the file name.
    const mix = [
      ...readdirSync(REQUESTS_DIR)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((file, index) => ({
          name: file,
          body: readFileSync(path.join(REQUESTS_DIR, file), 'utf8'),
          reason: file.startsWith('allow-') ? 'allowed' : file.replace(/^deny-/, '').replace(/\.json$/, '').replaceAll('-', '_'),
          times: index + 2,
        })),
      {
        name: `action ${invented}`,
        body: JSON.stringify({ subject: { id: 'agt-state-hub-bridge' }, action: invented, resource: { type: 'ssh_actor', id: 'agt-state-hub-bridge' } }),
        reason: 'action_not_allowed',
        times: 3,
      },
    ];
    const LABELS = ['action', 'allow', 'reason'] as const;
    const expected: Record<string, number> = {};
    let sent = 0;

    async function send(times: (entry: (typeof mix)[number]) => number): Promise<void> {
      for (const entry of mix) {
        const request = JSON.parse(entry.body) as Doc;
        const labels = {
          action: knownActions.has(request.action as string) ? (request.action as string) : 'other',
          allow: String(entry.reason === 'allowed'),
          reason: entry.reason,
        };
        for (let i = 0; i < times(entry); i += 1) {
          const { status, json } = await postCheck(a!.url, entry.body);
          expect(status, entry.name).to.equal(200);
          expect(json.reason, entry.name).to.equal(entry.reason);
          const k = labelKey(labels, LABELS);
          expected[k] = (expected[k] ?? 0) + 1;
          sent += 1;
        }
      }
    }

    const decisionsOfA = () => `flex_auth_decisions_total{instance="${a!.instance}"}`;

    it('counts every check in Prometheus by action, allow and reason, exactly as sent', async () => {
      // Once each first, so that every series exists in Prometheus before the rest arrive
      // (rate() and increase() then see the whole of the second batch).
      await send(() => 1);
      await prom!.waitFor(decisionsOfA(), (s) => sameMap(asMap(s, LABELS), expected), 'the first batch of decisions of A');
      await send((entry) => entry.times - 1);
      const samples = await prom!.waitFor(decisionsOfA(), (s) => sameMap(asMap(s, LABELS), expected), 'every decision of A, by action, allow and reason');
      expect(asMap(samples, LABELS)).to.deep.equal(expected);
      // Every reason a decision can have (the fail-closed refusals aside) was sent at least once.
      expect([...new Set(samples.map((s) => s.metric.reason))].sort()).to.deep.equal(['allowed', ...DENY_REASONS].sort());
      expect(samples.some((s) => s.metric.action === invented)).to.equal(false);

      const durationCount = await prom!.waitFor(
        `flex_auth_check_duration_seconds_count{instance="${a!.instance}"}`,
        (s) => s[0]?.value === sent,
        `${sent} observations of the check duration`,
      );
      expect(durationCount).to.have.length(1);
      await prom!.waitFor(
        `flex_auth_http_requests_total{instance="${a!.instance}", route="/v1/check"}`,
        (s) => sameMap(asMap(s, ['method', 'status']), { [labelKey({ method: 'POST', status: '200' }, ['method', 'status'])]: sent }),
        `${sent} POST /v1/check answered 200`,
      );
    });

    it('puts no subject, actor or caller-made action into any label', async () => {
      const ids = new Set<string>([invented]);
      for (const entry of mix) {
        const request = JSON.parse(entry.body) as Doc;
        ids.add(request.subject.id as string);
        ids.add(request.resource.id as string);
      }
      const series = (await prom!.api('series', { 'match[]': `{instance="${a!.instance}"}` })) as Record<string, string>[];
      expect(series.length).to.be.greaterThan(50);
      const leaked = series.flatMap((labels) => Object.entries(labels).filter(([, v]) => ids.has(v)).map(([k, v]) => `${labels.__name__}{${k}="${v}"}`));
      expect(leaked).to.deep.equal([]);
    });

    it('reports the embedded registry as the active revision, ready, with its counts', async () => {
      const info = await prom!.waitFor(`flex_auth_registry_info{instance="${a!.instance}"}`, (s) => s.length === 1, 'one info series for A');
      expect(info[0]!.metric).to.include({ revision: revisionOf(production), source: 'embedded' });
      expect(info[0]!.value).to.equal(1);
      expect((await prom!.query(`flex_auth_registry_ready{instance="${a!.instance}"}`)).map((s) => s.value)).to.deep.equal([1]);
      expect(asMap(await prom!.query(`flex_auth_registry_actors{instance="${a!.instance}"}`), ['type'])).to.deep.equal(
        Object.fromEntries(Object.entries(actorsByType(production)).map(([type, n]) => [labelKey({ type }, ['type']), n])),
      );
      expect((await prom!.query(`flex_auth_registry_relationships{instance="${a!.instance}"}`)).map((s) => s.value)).to.deep.equal([
        (production.relationships as Doc[]).length,
      ]);
      expect(asMap(await prom!.query(`flex_auth_registry_reloads_total{instance="${a!.instance}"}`), ['source', 'result'])).to.deep.equal({
        [labelKey({ source: 'embedded', result: 'success' }, ['source', 'result'])]: 1,
        [labelKey({ source: 'embedded', result: 'failure' }, ['source', 'result'])]: 0,
      });
    });
  });

  describe('reloads (instance B, a registry file)', () => {
    const reloadsOfB = () => `flex_auth_registry_reloads_total{instance="${b!.instance}"}`;
    const reloads = (success: number, failure: number) => ({
      [labelKey({ source: 'file', result: 'success' }, ['source', 'result'])]: success,
      [labelKey({ source: 'file', result: 'failure' }, ['source', 'result'])]: failure,
    });
    const infoIs = (revision: string) => (s: PromSample[]) => s.length === 1 && s[0]!.metric.revision === revision && s[0]!.metric.source === 'file' && s[0]!.value === 1;

    it('swaps the active revision series on reload, and counts successes and failures', async () => {
      const infoOfB = `flex_auth_registry_info{instance="${b!.instance}"}`;
      await prom!.waitFor(infoOfB, infoIs(revisionOf(bFirst)), 'B on its first revision');
      await prom!.waitFor(reloadsOfB(), (s) => sameMap(asMap(s, ['source', 'result']), reloads(1, 0)), 'one successful reload of B');

      replaceFile(bFile, JSON.stringify(bSecond, null, 2));
      await prom!.waitFor(infoOfB, infoIs(revisionOf(bSecond)), 'B on its second revision only (the first one gone)');
      await prom!.waitFor(reloadsOfB(), (s) => sameMap(asMap(s, ['source', 'result']), reloads(2, 0)), 'two successful reloads of B');
      const byType = actorsByType(bSecond);
      await prom!.waitFor(
        `flex_auth_registry_actors{instance="${b!.instance}"}`,
        (s) => sameMap(asMap(s, ['type']), Object.fromEntries(Object.entries(byType).map(([type, n]) => [labelKey({ type }, ['type']), n]))),
        `B's actor counts of the second revision (${JSON.stringify(byType)})`,
      );
      // The dashboard's per-pod view: one active revision per instance.
      expect(asMap(await prom!.query('count by (instance) (flex_auth_registry_info == 1)'), ['instance'])).to.deep.equal({
        [labelKey({ instance: a!.instance }, ['instance'])]: 1,
        [labelKey({ instance: b!.instance }, ['instance'])]: 1,
      });

      replaceFile(bFile, JSON.stringify(bInvalid, null, 2));
      await prom!.waitFor(reloadsOfB(), (s) => sameMap(asMap(s, ['source', 'result']), reloads(2, 1)), 'one failed reload of B');
      // A rejected document changes nothing else: same revision, still ready.
      expect((await prom!.query(infoOfB)).map((s) => s.metric.revision)).to.deep.equal([revisionOf(bSecond)]);
      expect((await prom!.query(`flex_auth_registry_ready{instance="${b!.instance}"}`)).map((s) => s.value)).to.deep.equal([1]);
    });
  });

  describe('no registry (instance C, a missing file)', () => {
    it('is not ready, counts the failed load, and counts its 503 answers as registry_unavailable', async () => {
      const of = (metric: string) => `${metric}{instance="${c!.instance}"}`;
      expect((await prom!.query(of('flex_auth_registry_ready'))).map((s) => s.value)).to.deep.equal([0]);
      expect(await prom!.query(of('flex_auth_registry_info'))).to.deep.equal([]);
      expect(asMap(await prom!.query(of('flex_auth_registry_reloads_total')), ['result'])).to.deep.equal({
        [labelKey({ result: 'success' }, ['result'])]: 0,
        [labelKey({ result: 'failure' }, ['result'])]: 1,
      });
      const body = readFileSync(path.join(REQUESTS_DIR, 'allow-iam-subject.json'), 'utf8');
      let count = 0;
      const sendOne = async () => {
        const { status, json } = await postCheck(c!.url, body);
        expect(status).to.equal(503);
        expect(json).to.include({ allow: false, reason: 'registry_unavailable' });
        count += 1;
      };
      const decisions = (n: number) => (s: PromSample[]) =>
        sameMap(asMap(s, ['action', 'allow', 'reason']), { [labelKey({ action: 'other', allow: 'false', reason: 'registry_unavailable' }, ['action', 'allow', 'reason'])]: n });
      // One first, so the series exists in Prometheus before the rest (for rate()).
      await sendOne();
      await prom!.waitFor(of('flex_auth_decisions_total'), decisions(count), 'the first registry_unavailable decision of C');
      for (let i = 0; i < 4; i += 1) await sendOne();
      await prom!.waitFor(of('flex_auth_decisions_total'), decisions(count), `${count} registry_unavailable decisions of C`);
      await prom!.waitFor(
        `flex_auth_http_requests_total{instance="${c!.instance}", route="/v1/check"}`,
        (s) => sameMap(asMap(s, ['method', 'status']), { [labelKey({ method: 'POST', status: '503' }, ['method', 'status'])]: count }),
        `${count} POST /v1/check answered 503 by C`,
      );
    });
  });

  describe('alert rules (deploy/prometheus/flex-auth-rules.yaml) in the real Prometheus', () => {
    const ruleNames = () =>
      ((parseYaml(readFileSync(RULES, 'utf8')) as Doc).groups as Doc[]).flatMap((g) => (g.rules as Doc[]).map((r) => r.alert as string));

    it('loads every alert and evaluates each one without error', async () => {
      const names = ruleNames();
      expect(names).to.have.length.greaterThan(0);
      const rules = await pollUntil(
        async () => ((await prom!.api('rules', { type: 'alert' })) as { groups: Doc[] }).groups.flatMap((g) => g.rules as Doc[]),
        (rs) => rs.length === names.length && rs.every((r) => r.health === 'ok' && !String(r.lastEvaluation).startsWith('0001')),
        'every alert rule evaluated once with health ok',
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      expect(rules.map((r) => r.name).sort()).to.deep.equal([...names].sort());
      for (const rule of rules) expect(rule.lastError ?? '', rule.name).to.equal('');
    });

    it('puts the alerts in the states the scraped data calls for', async () => {
      // Depends on the traffic and the reloads above: B rejected a document, C has no registry
      // and answered 503s, and most of the decisions were denials.
      const wanted: Record<string, string>[] = [
        { alertname: 'FlexAuthRegistryReloadFailing', alertstate: 'firing', instance: b!.instance, source: 'file' },
        { alertname: 'FlexAuthNotReady', alertstate: 'pending', instance: c!.instance },
        { alertname: 'FlexAuthHttpServerErrors', alertstate: 'pending', job: 'flex-auth', route: '/v1/check', status: '503' },
        { alertname: 'FlexAuthDenyRateHigh', alertstate: 'pending', job: 'flex-auth' },
      ];
      const matches = (s: PromSample, want: Record<string, string>) => Object.entries(want).every(([k, v]) => s.metric[k] === v);
      const alerts = await prom!.waitFor('ALERTS', (s) => wanted.every((want) => s.some((x) => matches(x, want))), `alerts ${JSON.stringify(wanted)}`);
      // Nothing else: A and B are ready (no outage), B loaded seconds ago (not stale), A and B
      // have no failed loads that Prometheus saw rise except B's.
      const unexpected = alerts.filter((s) => !wanted.some((want) => matches(s, want))).map((s) => s.metric);
      expect(unexpected).to.deep.equal([]);
    });
  });

  describe('promtool check metrics', () => {
    it('passes `promtool check metrics` on the real /metrics output of every instance', async () => {
      for (const instance of [a!, b!, c!]) {
        const response = await fetch(`${instance.url}/metrics`, { signal: AbortSignal.timeout(5000) });
        expect(response.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
        const text = await response.text();
        expect(text).to.include('# TYPE flex_auth_decisions_total counter').and.include('# TYPE nodejs_active_handles gauge');
        expect(text).not.to.match(/^# TYPE nodejs_active_\w+_total /m);
        const result = promtool(['check', 'metrics'], text);
        expect({ status: result.status, output: `${result.stdout}${result.stderr}`.trim() }, instance.proc.name).to.deep.equal({ status: 0, output: '' });
      }
    });
  });

  describe('Grafana dashboard (deploy/grafana/flex-auth-dashboard.json)', () => {
    const dashboard = readJson<Doc>(DASHBOARD);
    const variables = (dashboard.templating.list as Doc[]).map((v) => v.name as string);
    const panels = (dashboard.panels as Doc[]).filter((p) => p.type !== 'row');
    const expressions = [
      ...panels.flatMap((p) => (p.targets as Doc[]).map((t) => ({ title: p.title as string, refId: t.refId as string, expr: t.expr as string }))),
      ...(dashboard.annotations.list as Doc[]).filter((x) => x.expr).map((x) => ({ title: `annotation ${x.name}`, refId: '-', expr: x.expr as string })),
    ];
    // The panels that must show data for the pods above (5xx and the like may be empty).
    const MUST_HAVE_DATA = [
      'Checks per second',
      'Denied share',
      'Decisions by reason',
      'Check latency quantiles',
      'Active registry revision per pod',
      'Ready pods',
      'Registry reloads',
      'Registry ready per pod',
      'Actors by type',
    ];
    const substitute = (expr: string, instance = '.*') =>
      expr.replaceAll('$__rate_interval', '10s').replaceAll('$__interval', '10s').replaceAll('$job', 'flex-auth').replaceAll('$instance', instance);

    it('uses only its own variables, and every panel it names exists', () => {
      expect(panels.length).to.be.greaterThan(10);
      for (const { title, expr } of expressions) {
        for (const [, name] of expr.matchAll(/\$\{?(\w+)/g)) {
          if (!name!.startsWith('__')) expect(variables, `${title}: $${name}`).to.include(name);
        }
      }
      for (const title of MUST_HAVE_DATA) expect(panels.map((p) => p.title), title).to.include(title);
      for (const panel of panels) expect(panel.datasource, panel.title).to.deep.equal({ type: 'prometheus', uid: '${datasource}' });
    });

    it('answers every query in the real Prometheus, with data for the pods where it must', async () => {
      for (const { title, refId, expr } of expressions) {
        const concrete = substitute(expr);
        expect(concrete, title).not.to.include('$');
        const samples = await prom!.query(concrete).catch((error: Error) => {
          throw new Error(`${title} (${refId}): ${error.message}`);
        });
        if (MUST_HAVE_DATA.includes(title)) expect(samples, `${title} (${refId}): ${concrete}`).to.not.be.empty;
      }
      // The per-pod revision table shows A and B on the revisions they loaded.
      const table = expressions.find((e) => e.title === 'Active registry revision per pod' && e.refId === 'A')!;
      expect(asMap(await prom!.query(substitute(table.expr)), ['instance', 'revision'])).to.deep.equal({
        [labelKey({ instance: a!.instance, revision: revisionOf(production) }, ['instance', 'revision'])]: 1,
        [labelKey({ instance: b!.instance, revision: revisionOf(bSecond) }, ['instance', 'revision'])]: 1,
      });
      // The variables: every scraped pod is selectable, ready or not.
      const jobs = (await prom!.api('label/job/values', { 'match[]': 'flex_auth_registry_ready' })) as string[];
      expect(jobs).to.deep.equal(['flex-auth']);
      const instances = (await prom!.api('label/instance/values', { 'match[]': 'flex_auth_registry_ready{job=~"flex-auth"}' })) as string[];
      expect(instances.sort()).to.deep.equal([a!.instance, b!.instance, c!.instance].sort());
    });
  });
});
