import { expect } from 'chai';
import { createLogger } from '../../../src/logger.js';
import { startService } from '../../../src/main.js';
import type { RunningService } from '../../../src/main.js';
import { FakeKubeApi } from '../../helpers/fake-kube-api.js';
import { runCli } from '../../helpers/flex-auth.js';
import { pollUntil } from '../../helpers/poll.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';

const BOUND_MS = 30_000;
const check = { subject: { id: 'agt-a' }, action: 'sign', resource: { id: 'agt-a' } };

/**
 * The whole service with `maxStalenessMs` over HTTP, its ConfigMap source on the fake API and
 * its clock moved by hand: /readyz, the check answer, the decision log and the gauge.
 */
describe('a service past its max staleness', () => {
  let api: FakeKubeApi;
  let service: RunningService;
  let nowMs: number;
  let logLines: Record<string, unknown>[];

  beforeEach(async () => {
    api = new FakeKubeApi();
    await api.start();
    api.put({ 'registry.json': text(registryDocument([actorEntry('agt-a')])) });
    nowMs = 5_000_000;
    logLines = [];
    const logger = createLogger({
      destination: { write: (lines: string) => { for (const l of lines.split('\n').filter(Boolean)) logLines.push(JSON.parse(l) as Record<string, unknown>); } },
    });
    service = await startService(
      { host: '127.0.0.1', port: 0, registry: { kind: 'configmap', namespace: api.namespace, name: api.name, key: 'registry.json' }, maxStalenessMs: BOUND_MS },
      { logger, clock: () => nowMs, configMapSource: { kubeConfig: api.kubeConfig(), confirmEveryMs: 10, backoff: { initialMs: 20, maxMs: 80 } } },
    );
  });

  afterEach(async () => {
    api.setSilent(false);
    await service.close();
    await api.stop();
  });

  const ready = async () => {
    const response = await fetch(`${service.url}/readyz`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const postCheck = async () => {
    const response = await fetch(`${service.url}/v1/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(check) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const staleGauge = async () => /^flex_auth_registry_stale (\d+)$/m.exec(await (await fetch(`${service.url}/metrics`)).text())?.[1];

  it('is ready and allows while confirmed; past the bound, 503 stale and registry_stale denials, logged and counted; then recovers', async () => {
    expect(await ready()).to.deep.include({ status: 200 });
    expect((await ready()).body).to.include({ ready: true, stale: false });
    expect((await postCheck()).body).to.include({ allow: true });
    expect(await staleGauge()).to.equal('0');

    api.setSilent(true);
    nowMs += BOUND_MS + 1;
    const stale = await ready();
    expect(stale.status).to.equal(503);
    expect(stale.body).to.include({ ready: false, stale: true, revision: (await ready()).body.revision });
    const denied = await postCheck();
    expect(denied.status).to.equal(503);
    expect(denied.body).to.include({ allow: false, reason: 'registry_stale' });
    expect(denied.body.message).to.match(/has not confirmed the registry for 30s \(max staleness 30s\)/);
    const decisions = logLines.filter((l) => l.msg === 'decision');
    expect(decisions).to.have.length(2);
    expect(decisions[1]).to.include({ allow: false, reason: 'registry_stale' });
    expect(await staleGauge()).to.equal('1');
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    // The action is one the loaded registry has, so its label is the action, as for any other decision.
    expect(metrics).to.match(/^flex_auth_decisions_total\{action="sign",allow="false",reason="registry_stale"\} 1$/m);

    api.setSilent(false);
    await pollUntil(ready, (r) => r.status === 200, 'ready again once the API answers');
    expect((await postCheck()).body).to.include({ allow: true });
    expect(await staleGauge()).to.equal('0');
    expect(logLines.map((l) => l.msg)).to.include.members([
      'registry is stale: the source has not confirmed it within the bound; denying checks',
      'registry confirmed again; no longer stale',
    ]);
  });

  it('answers no AuthZEN batch or search from a stale registry either: 503 registry_stale', async () => {
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };
    const evaluation = { subject: { type: 'identity', id: 'agt-a' }, action: { name: 'sign' }, resource: { type: 'ssh_actor', id: 'agt-a' } };
    const batch = { evaluations: [evaluation, evaluation] };
    const searches: [string, unknown][] = [
      ['/access/v1/search/subject', { ...evaluation, subject: { type: 'identity' } }],
      ['/access/v1/search/resource', { ...evaluation, resource: { type: 'ssh_actor' } }],
      ['/access/v1/search/action', { subject: evaluation.subject, resource: evaluation.resource }],
    ];
    const fresh = await post('/access/v1/evaluations', batch);
    expect(fresh.status).to.equal(200);
    expect(fresh.body.evaluations.map((e: { decision: boolean }) => e.decision)).to.deep.equal([true, true]);
    for (const [path, body] of searches) expect((await post(path, body)).status, path).to.equal(200);

    api.setSilent(true);
    nowMs += BOUND_MS + 1;
    const stale = await post('/access/v1/evaluations', batch);
    expect(stale.status).to.equal(503);
    expect(stale.body.evaluations.map((e: { context: { reason: string } }) => e.context.reason)).to.deep.equal(['registry_stale', 'registry_stale']);
    for (const [path, body] of searches) {
      const answer = await post(path, body);
      expect(answer.status, path).to.equal(503);
      expect(answer.body.error.code, path).to.equal('registry_stale');
      expect(answer.body.error.message).to.match(/has not confirmed the registry for 30s/);
      expect(answer.body).not.to.have.property('results');
    }
  });
});

describe('serve --max-staleness', () => {
  it('is refused, as a usage error, without a ConfigMap source or with a bad duration', async () => {
    const file = await runCli(['serve', '--registry-file', 'registry.json', '--max-staleness', '5m']);
    expect(file.code).to.equal(2);
    expect(file.stderr).to.include('--max-staleness needs --registry-configmap');
    const embedded = await runCli(['serve', '--port', '0'], { env: { FLEX_AUTH_MAX_STALENESS: '30s' } });
    expect(embedded.code).to.equal(2);
    expect(embedded.stderr).to.include('FLEX_AUTH_MAX_STALENESS needs --registry-configmap');
    const zero = await runCli(['serve', '--registry-configmap', 'flex-auth/flex-auth-registry', '--max-staleness', '0s']);
    expect(zero.code).to.equal(2);
    expect(zero.stderr).to.include('--max-staleness must be a duration from 1s to 24h, or off (got 0s)');
  });
});
