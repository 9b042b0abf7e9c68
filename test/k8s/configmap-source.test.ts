import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { checkFor } from '../helpers/documents.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { startServer, stopAll } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { getJson, postCheck } from '../helpers/http.js';
import { CLI, EXAMPLES, PACKAGE_ROOT, PRODUCTION_REGISTRY } from '../helpers/paths.js';
import { pollUntil } from '../helpers/poll.js';
import { runCommand as run } from '../helpers/process.js';
import { expectedRevision } from '../helpers/revision.js';
import { kubectl, writeServiceAccountKubeconfig } from '../helpers/kube.js';

/**
 * Against a real kube-apiserver and etcd (scripts/k8s-test-env.sh run, as `npm run test:k8s`
 * does) or any cluster in KUBECONFIG: the ConfigMap source, its RBAC, reloads, deletion and an
 * API server restart, driven with the real kubectl.
 */

/** A throwaway namespace on a shared cluster; the contract's `flex-auth` on the harness's fresh one. */
const NAMESPACE = process.env.FLEX_AUTH_TEST_NAMESPACE ?? 'flex-auth';
const CONFIGMAP = 'flex-auth-registry';
const SERVICE_ACCOUNT = 'flex-auth';
const harnessDir = process.env.K8S_TEST_ENV_DIR;
const harnessScript = path.join(PACKAGE_ROOT, 'scripts', 'k8s-test-env.sh');


async function applyRegistry(document: string): Promise<void> {
  const manifest = await run(process.execPath, [CLI, 'configmap', '-'], { stdin: document });
  if (manifest.code !== 0) throw new Error(`flex-auth configmap failed: ${manifest.stderr}`);
  await kubectl(['apply', '-f', '-'], manifest.stdout);
}

/** Applies a ConfigMap that flex-auth configmap would refuse to print: for the invalid case. */
async function applyRawConfigMap(data: Record<string, string>): Promise<void> {
  const manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CONFIGMAP, namespace: NAMESPACE }, data };
  await kubectl(['apply', '-f', '-'], JSON.stringify(manifest));
}

function metric(text: string, line: RegExp): number {
  const match = text.split('\n').map((l) => line.exec(l)).find(Boolean);
  return match ? Number(match[1]) : 0;
}

describe('the ConfigMap source against a real Kubernetes API server', function () {
  this.timeout(180_000);
  let dir: string;
  let server: ServerProcess | undefined;
  let production: Record<string, any>;

  before(async () => {
    if (!process.env.KUBECONFIG) throw new Error('KUBECONFIG is not set: run `npm run test:k8s`, or point KUBECONFIG at a cluster');
    dir = await makeTempDir('flex-auth-k8s-');
    production = JSON.parse(await readFile(PRODUCTION_REGISTRY, 'utf8')) as Record<string, any>;

    // Never touch a namespace this suite did not create: on a real cluster it may hold flex-auth itself.
    if ((await run('kubectl', ['get', 'namespace', NAMESPACE])).code === 0) {
      throw new Error(`namespace ${NAMESPACE} already exists; set FLEX_AUTH_TEST_NAMESPACE to a throwaway namespace`);
    }
    // The contract's RBAC: a ServiceAccount whose Role may only get, list and watch the one ConfigMap.
    await kubectl(['create', 'namespace', NAMESPACE]);
    await kubectl(['-n', NAMESPACE, 'create', 'serviceaccount', SERVICE_ACCOUNT]);
    await kubectl(['-n', NAMESPACE, 'create', 'role', 'flex-auth-registry-reader', '--verb=get,list,watch', '--resource=configmaps', `--resource-name=${CONFIGMAP}`]);
    await kubectl(['-n', NAMESPACE, 'create', 'rolebinding', 'flex-auth-registry-reader', '--role=flex-auth-registry-reader', `--serviceaccount=${NAMESPACE}:${SERVICE_ACCOUNT}`]);

    // A kubeconfig that authenticates as that ServiceAccount only, with a short-lived token.
    await writeServiceAccountKubeconfig(NAMESPACE, SERVICE_ACCOUNT, path.join(dir, 'flex-auth.kubeconfig'));
  });

  after(async () => {
    await stopAll(server);
    await removeDir(dir);
    // The harness's API server is thrown away whole (and has no namespace controller to finish a delete).
    if (!harnessDir) await run('kubectl', ['delete', 'namespace', NAMESPACE, '--wait=false']);
  });

  const saKubeconfig = () => path.join(dir, 'flex-auth.kubeconfig');
  const ready = () => getJson(server!.url, '/readyz');
  const servedRevision = async (revision: string, timeoutMs = 30_000) =>
    pollUntil(ready, (r) => r.body?.revision === revision, `revision ${revision} in /readyz`, { timeoutMs, intervalMs: 200 });

  it('the ServiceAccount may read its ConfigMap and nothing else', async () => {
    const as = `--as=system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}`;
    const canI = async (...args: string[]) => (await run('kubectl', ['auth', 'can-i', ...args, '-n', NAMESPACE, as])).stdout.trim();
    expect(await canI('get', `configmap/${CONFIGMAP}`)).to.equal('yes');
    expect(await canI('watch', `configmap/${CONFIGMAP}`)).to.equal('yes');
    expect(await canI('get', 'configmap/other')).to.equal('no');
    expect(await canI('list', 'configmaps')).to.equal('no');
    expect(await canI('get', 'secrets')).to.equal('no');
    expect(await canI('update', `configmap/${CONFIGMAP}`)).to.equal('no');
    const other = await run('kubectl', ['--kubeconfig', saKubeconfig(), '-n', NAMESPACE, 'get', 'secrets']);
    expect(other.code).not.to.equal(0);
    expect(other.stderr).to.match(/forbidden/i);
  });

  it('runs as that ServiceAccount, unready until the ConfigMap exists', async () => {
    server = await startServer(['--registry-configmap', `${NAMESPACE}/${CONFIGMAP}`], { env: { KUBECONFIG: saKubeconfig() } });
    const status = await pollUntil(ready, (r) => r.body?.last_error !== null, 'a last_error in /readyz', { timeoutMs: 20_000 });
    expect(status.status).to.equal(503);
    expect(status.body).to.include({ ready: false, source: `configmap:${NAMESPACE}/${CONFIGMAP}` });
    expect(status.body.last_error.message).to.equal(`ConfigMap ${NAMESPACE}/${CONFIGMAP} not found`);
    expect((await postCheck(server.url, checkFor('agt-state-hub-bridge'))).status).to.equal(503);
  });

  it('becomes ready with the revision of the applied registry and shows its resourceVersion', async () => {
    await applyRegistry(JSON.stringify(production, null, 2));
    const status = await servedRevision(expectedRevision(production));
    expect(status.status).to.equal(200);
    const resourceVersion = (await kubectl(['-n', NAMESPACE, 'get', 'configmap', CONFIGMAP, '-o', 'jsonpath={.metadata.resourceVersion}'])).trim();
    expect(status.body.source_version).to.equal(resourceVersion);
    expect((await getJson(server!.url, '/v1/registry')).body).to.include({ source: `configmap:${NAMESPACE}/${CONFIGMAP}`, source_version: resourceVersion });
    expect((await postCheck(server!.url, checkFor('agt-state-hub-bridge'))).body.allow).to.equal(true);
  });

  it('reloads an applied update', async () => {
    production.actors.push({ name: 'agt-k8s-added', type: 'agent', principals: ['agt-k8s-added'], ttl: { default: '1h', max: '2h' }, allowed_subjects: ['agt-k8s-added'] });
    await applyRegistry(JSON.stringify(production));
    await servedRevision(expectedRevision(production));
    expect((await postCheck(server!.url, checkFor('agt-k8s-added'))).body.allow).to.equal(true);
  });

  it('serves byte for byte a document holding characters kubectl\'s YAML reader would break lines at or refuse', async () => {
    const document = structuredClone(production);
    document.metadata.source = 'ops-warden\u0085inventory \u2028 \u2029 \u007f \u0080 \ufeff';
    const text = JSON.stringify(document, null, 2);
    await applyRegistry(text);
    await servedRevision(expectedRevision(document));
    const live = await run(process.execPath, [CLI, 'configmap', '--unpack', '-'], { stdin: await kubectl(['-n', NAMESPACE, 'get', 'configmap', '-o', 'json']) });
    expect(live.code, live.stderr).to.equal(0);
    expect(live.stdout).to.equal(text);
    // The cases below start from the production registry.
    await applyRegistry(JSON.stringify(production));
    await servedRevision(expectedRevision(production));
  });

  it('keeps the last good registry on an invalid document and counts the failure', async () => {
    const failures = () => getJson(server!.url, '/metrics').then((r) => metric(r.text, /^flex_auth_registry_reloads_total\{source="configmap",result="failure"\} (\d+)/));
    const before = await failures();
    await applyRawConfigMap({ 'registry.json': '{"schema":"flex-auth.registry/v1","actors":[{"name":"Bad Name"}]}' });
    const status = await pollUntil(ready, (r) => /registry is invalid/.test(r.body?.last_error?.message ?? ''), 'the invalid document in last_error');
    expect(status.status).to.equal(200);
    expect(status.body.revision).to.equal(expectedRevision(production));
    expect(await failures()).to.equal(before + 1);
    expect((await postCheck(server!.url, checkFor('agt-k8s-added'))).body.allow).to.equal(true);
  });

  it('keeps the last good registry when the ConfigMap is deleted, and says so', async () => {
    await kubectl(['-n', NAMESPACE, 'delete', 'configmap', CONFIGMAP]);
    const status = await pollUntil(ready, (r) => /was deleted/.test(r.body?.last_error?.message ?? ''), 'the deletion in last_error');
    expect(status.status).to.equal(200);
    expect(status.body.revision).to.equal(expectedRevision(production));
    expect((await postCheck(server!.url, checkFor('agt-state-hub-bridge'))).body.allow).to.equal(true);
  });

  // Restarting the API server needs the local harness; on another cluster this case is not run at all.
  if (harnessDir) it('picks up an update made across an API server restart, without restarting flex-auth', async () => {
    await applyRegistry(JSON.stringify(production));
    await servedRevision(expectedRevision(production));
    const pid = server!.child.pid;

    const stopped = await run('bash', [harnessScript, 'stop-apiserver', harnessDir!], { timeoutMs: 120_000 });
    expect(stopped.code, stopped.stderr).to.equal(0);
    await pollUntil(ready, (r) => /cannot list or watch/.test(r.body?.last_error?.message ?? ''), 'the lost API server in last_error', { timeoutMs: 60_000, intervalMs: 200 });
    expect((await ready()).status).to.equal(200);

    const started = await run('bash', [harnessScript, 'start-apiserver', harnessDir!], { timeoutMs: 120_000 });
    expect(started.code, started.stderr).to.equal(0);
    production.actors.push({ name: 'agt-after-restart', type: 'agent', principals: ['agt-after-restart'], ttl: { default: '1h', max: '2h' }, allowed_subjects: ['agt-after-restart'] });
    await applyRegistry(JSON.stringify(production));
    const status = await servedRevision(expectedRevision(production), 90_000);
    expect(status.body.last_error).to.equal(null);
    expect(server!.child.pid).to.equal(pid);
    expect(server!.child.exitCode).to.equal(null);
    expect((await postCheck(server!.url, checkFor('agt-after-restart'))).body.allow).to.equal(true);
  });
  else console.log('  (no K8S_TEST_ENV_DIR: the API server restart case needs scripts/k8s-test-env.sh and is not run)');

  it('follows the registry sync runbook with the real kubectl', async () => {
    const doc = await readFile(path.join(PACKAGE_ROOT, 'docs', 'ops-warden-registry-sync.md'), 'utf8');
    const block = /<!-- runbook:add-actor:begin -->\s*```sh\n([\s\S]*?)```/.exec(doc)![1]!;
    production.actors.push({ name: 'agt-runbook', type: 'agent', principals: ['agt-runbook'], ttl: { default: '1h', min: '5m', max: '8h' }, allowed_subjects: ['agt-runbook', 'iam:agt-runbook'] });
    const snapshot = path.join(dir, 'snapshot.json');
    await writeFile(snapshot, JSON.stringify(production, null, 2));
    const bin = path.join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(path.join(bin, 'flex-auth'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    await chmod(path.join(bin, 'flex-auth'), 0o755);
    // A new actor widens access, so the runbook's diff step asks for a person's yes.
    const result = await run('bash', ['-euo', 'pipefail', '-c', block], {
      cwd: dir, stdin: 'yes\n',
      env: {
        PATH: `${bin}:${process.env.PATH ?? ''}`, SNAPSHOT: snapshot, NEW_ACTOR: 'agt-runbook', FLEX_AUTH_URL: server!.url, FLEX_AUTH_DIAGNOSTIC_URL: server!.url,
        TESTS: path.join(EXAMPLES, 'ops-warden', 'production_registry.tests.yaml'),
      },
      timeoutMs: 120_000,
    });
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    expect(result.stdout).to.include('smoke passed');
    expect((await postCheck(server!.url, checkFor('agt-runbook', undefined, 'iam:agt-runbook'))).body.allow).to.equal(true);
  });
});
