import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { parse, stringify } from 'yaml';
import { checkFor } from '../helpers/documents.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCli, startServer, stopAll } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { getJson, postCheck } from '../helpers/http.js';
import { CLI, PRODUCTION_REGISTRY } from '../helpers/paths.js';
import { pollUntil } from '../helpers/poll.js';
import { runCommand as run } from '../helpers/process.js';
import { expectedRevision } from '../helpers/revision.js';
import { kubectl, writeServiceAccountKubeconfig } from '../helpers/kube.js';

/**
 * Contract section 13 against a real kube-apiserver: three replicas (processes with their own
 * POD_NAME) on one ConfigMap record Events that `flex-auth status` reads, and one replica whose
 * API access is cut goes stale past --max-staleness and comes back. Set FLEX_AUTH_CAPTURE_DIR
 * to keep the `kubectl describe` and `flex-auth status` output shown in docs/operations.md.
 */

const NAMESPACE = process.env.FLEX_AUTH_TEST_NAMESPACE ? `${process.env.FLEX_AUTH_TEST_NAMESPACE}-rollout` : 'flex-auth-rollout';
const CONFIGMAP = 'flex-auth-registry';
const MAX_STALENESS = '4s';
const REPLICAS = ['flex-auth-6d8f9b7c4-2kq7x', 'flex-auth-6d8f9b7c4-9wz4m', 'flex-auth-6d8f9b7c4-tx5rd'] as const;
const harnessDir = process.env.K8S_TEST_ENV_DIR;

interface KubeEvent {
  reason: string;
  reportingInstance: string;
  message: string;
  metadata: { annotations?: Record<string, string> };
}

async function manifestFor(document: unknown): Promise<string> {
  const manifest = await run(process.execPath, [CLI, 'configmap', '-', '--namespace', NAMESPACE], { stdin: JSON.stringify(document) });
  if (manifest.code !== 0) throw new Error(`flex-auth configmap failed: ${manifest.stderr}`);
  return manifest.stdout;
}

async function registryEvents(): Promise<KubeEvent[]> {
  const list = JSON.parse(await kubectl(['-n', NAMESPACE, 'get', 'events', '--field-selector', `involvedObject.name=${CONFIGMAP}`, '-o', 'json'])) as { items: KubeEvent[] };
  return list.items;
}

const about = (events: KubeEvent[], reason: string, revision: string) =>
  events.filter((e) => e.reason === reason && e.metadata.annotations?.['flex-auth/registry-revision'] === revision);

describe('rollout status and the staleness guard against a real Kubernetes API server', function () {
  this.timeout(180_000);
  let dir: string;
  let servers: ServerProcess[] = [];
  let production: Record<string, any>;
  let good: string;

  const status = (...args: string[]) => runCli(['status', '--namespace', NAMESPACE, ...args], { timeoutMs: 90_000 });
  const capture = async (name: string, text: string) => {
    const target = process.env.FLEX_AUTH_CAPTURE_DIR;
    if (!target) return;
    await mkdir(target, { recursive: true });
    await writeFile(path.join(target, name), text);
  };

  before(async () => {
    if (!process.env.KUBECONFIG) throw new Error('KUBECONFIG is not set: run `npm run test:k8s`, or point KUBECONFIG at a cluster');
    if ((await run('kubectl', ['get', 'namespace', NAMESPACE])).code === 0) {
      throw new Error(`namespace ${NAMESPACE} already exists; set FLEX_AUTH_TEST_NAMESPACE to a throwaway prefix`);
    }
    dir = await makeTempDir('flex-auth-rollout-');
    production = JSON.parse(await readFile(PRODUCTION_REGISTRY, 'utf8')) as Record<string, any>;
    // The contract's RBAC (sections 7 and 16): read the one ConfigMap, create and patch Events.
    await kubectl(['create', 'namespace', NAMESPACE]);
    await kubectl(['-n', NAMESPACE, 'create', 'role', 'flex-auth-registry-reader', '--verb=get,list,watch', '--resource=configmaps', `--resource-name=${CONFIGMAP}`]);
    await kubectl(['-n', NAMESPACE, 'create', 'role', 'flex-auth-events', '--verb=create,patch', '--resource=events']);
    // Each replica its own ServiceAccount, so one replica's access can be cut alone.
    for (const [i, replica] of REPLICAS.entries()) {
      const account = `replica-${i}`;
      await kubectl(['-n', NAMESPACE, 'create', 'serviceaccount', account]);
      for (const role of ['flex-auth-registry-reader', 'flex-auth-events']) {
        await kubectl(['-n', NAMESPACE, 'create', 'rolebinding', `${account}-${role}`, `--role=${role}`, `--serviceaccount=${NAMESPACE}:${account}`]);
      }
      await writeServiceAccountKubeconfig(NAMESPACE, account, path.join(dir, `${replica}.kubeconfig`));
    }
    await kubectl(['apply', '-f', '-'], await manifestFor(production));
    good = expectedRevision(production);
    servers = await Promise.all(REPLICAS.map((replica) => startServer(
      ['--registry-configmap', `${NAMESPACE}/${CONFIGMAP}`, '--max-staleness', MAX_STALENESS],
      { name: replica, env: { KUBECONFIG: path.join(dir, `${replica}.kubeconfig`), POD_NAME: replica } },
    )));
  });

  after(async () => {
    await stopAll(...servers);
    await removeDir(dir);
    if (!harnessDir) await run('kubectl', ['delete', 'namespace', NAMESPACE, '--wait=false']);
  });

  it('an apply makes one RegistryLoaded Event per replica, and status --wait exits 0', async () => {
    production.actors.push({ name: 'agt-rollout-added', type: 'agent', principals: ['agt-rollout-added'], ttl: { default: '1h', max: '2h' }, allowed_subjects: ['agt-rollout-added'] });
    await kubectl(['apply', '-f', '-'], await manifestFor(production));
    good = expectedRevision(production);
    const result = await status('--wait', '60s');
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    const short = good.slice(0, 'sha256:'.length + 12);
    for (const replica of REPLICAS) expect(result.stdout).to.match(new RegExp(`^${replica} +${short} +since [0-9T:-]+Z \\([0-9]+s ago\\) +current$`, 'm'));
    expect(result.stdout).to.include(`OK: every replica that reported in the last 10 minutes serves ${short}`);
    const loaded = about(await registryEvents(), 'RegistryLoaded', good);
    expect(loaded.map((e) => e.reportingInstance).sort()).to.deep.equal([...REPLICAS]);
    for (const server of servers) expect((await postCheck(server.url, checkFor('agt-rollout-added'))).body.allow).to.equal(true);
    await capture('status-ok.txt', result.stdout);
  });

  it('an invalid document makes RegistryRejected Events, and status exits 1 naming the revision still served', async () => {
    // A manifest whose document no longer matches the revision it announces, as a bad hand edit would.
    const manifest = parse(await manifestFor({ ...production, metadata: { ...production.metadata, name: 'next' } })) as Record<string, any>;
    const announced = manifest.metadata.annotations['flex-auth/registry-revision'] as string;
    manifest.data['registry.json'] = '{"schema":"flex-auth.registry/v1","actors":[{"name":"Bad Name"}]}';
    await kubectl(['apply', '-f', '-'], stringify(manifest));
    const events = await pollUntil(registryEvents, (list) => about(list, 'RegistryRejected', announced).length === REPLICAS.length, 'a RegistryRejected Event from each replica', { timeoutMs: 30_000, intervalMs: 250 });
    for (const event of about(events, 'RegistryRejected', announced)) expect(event.message).to.match(/rejected sha256:[0-9a-f]{64}: registry is invalid/);
    const result = await status();
    expect(result.code, result.stdout + result.stderr).to.equal(1);
    const short = (revision: string) => revision.slice(0, 'sha256:'.length + 12);
    expect(result.stdout).to.include(`NOT YET: 3 of 3 replicas do not serve ${short(announced)}; they serve ${short(good)}`);
    for (const replica of REPLICAS) expect(result.stdout).to.match(new RegExp(`^${replica} +${short(good)} +since .* OLD, rejected ${short(announced)} [0-9]+s ago$`, 'm'));
    for (const server of servers) expect((await getJson(server.url, '/readyz')).body.revision).to.equal(good);
    await capture('status-rejected.txt', result.stdout);
    await capture('describe.txt', await kubectl(['-n', NAMESPACE, 'describe', 'configmap', CONFIGMAP]));
    // Back to the good document, so the next case starts from a settled rollout.
    await kubectl(['apply', '-f', '-'], await manifestFor(production));
    expect((await status('--wait', '60s')).code).to.equal(0);
  });

  it('a replica cut off from the API past --max-staleness goes stale and denies; the others stay fresh; it recovers', async () => {
    const [healthyA, healthyB, cut] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const bindings = ['flex-auth-registry-reader', 'flex-auth-events'].map((role) => `replica-2-${role}`);
    await kubectl(['-n', NAMESPACE, 'delete', 'rolebinding', ...bindings]);
    const stale = await pollUntil(() => getJson(cut.url, '/readyz'), (r) => r.status === 503 && r.body?.stale === true, 'the cut replica stale', { timeoutMs: 30_000, intervalMs: 200 });
    expect(stale.body.revision).to.equal(good);
    const denied = await pollUntil(() => postCheck(cut.url, checkFor('agt-state-hub-bridge')), (r) => r.status === 503, 'a registry_stale denial', { timeoutMs: 10_000, intervalMs: 100 });
    expect(denied.body).to.include({ allow: false, reason: 'registry_stale' });
    // Polled: a watch bookmark (about one a minute, on the still-open watch) confirms for a moment.
    await pollUntil(() => getJson(cut.url, '/metrics'), (r) => /^flex_auth_registry_stale 1$/m.test(r.text), 'the stale gauge at 1', { timeoutMs: 10_000, intervalMs: 100 });
    for (const healthy of [healthyA, healthyB]) {
      const readyz = (await getJson(healthy.url, '/readyz')).body;
      expect(readyz, JSON.stringify(readyz)).to.include({ ready: true, stale: false });
      expect((await postCheck(healthy.url, checkFor('agt-state-hub-bridge'))).body.allow).to.equal(true);
    }

    await kubectl(['-n', NAMESPACE, 'create', 'rolebinding', bindings[0]!, '--role=flex-auth-registry-reader', `--serviceaccount=${NAMESPACE}:replica-2`]);
    await kubectl(['-n', NAMESPACE, 'create', 'rolebinding', bindings[1]!, '--role=flex-auth-events', `--serviceaccount=${NAMESPACE}:replica-2`]);
    await pollUntil(() => getJson(cut.url, '/readyz'), (r) => r.status === 200 && r.body?.stale === false, 'the replica fresh again', { timeoutMs: 30_000, intervalMs: 200 });
    expect((await postCheck(cut.url, checkFor('agt-state-hub-bridge'))).body.allow).to.equal(true);
    expect((await getJson(cut.url, '/metrics')).text).to.match(/^flex_auth_registry_stale 0$/m);
    // With a 4 s bound, the healthy replicas never went stale, not even once.
    for (const healthy of [healthyA, healthyB]) {
      expect(healthy.stdout.messages('registry is stale: the source has not confirmed it within the bound; denying checks')).to.have.length(0);
    }
    expect(cut.stdout.messages('registry is stale: the source has not confirmed it within the bound; denying checks')).to.have.length.at.least(1);
  });
});
