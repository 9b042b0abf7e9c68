import { copyFile, chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { checkFor } from '../helpers/documents.js';
import { getJson, postCheck } from '../helpers/http.js';
import type { HttpResult } from '../helpers/http.js';
import { CLI, PACKAGE_ROOT, PRODUCTION_REGISTRY } from '../helpers/paths.js';
import { pollUntil } from '../helpers/poll.js';
import { runCommand as run } from '../helpers/process.js';
import { expectedRevision } from '../helpers/revision.js';
import { PODMAN_ULIMITS, mustPodman, podRun, podman } from './pod-spec.js';
import type { PodRun } from './pod-spec.js';

/**
 * The container image, built from the project's own Dockerfile with podman (daemonless, from
 * Debian's packages) on a locally assembled stand-in for node:20-slim (scripts/image-base.sh),
 * then run exactly as the Helm chart's pod spec runs it: the Deployment that `helm install`
 * stored in a real kube-apiserver (scripts/k8s-test-env.sh run, as `npm run test:image` does)
 * is translated to `podman run` options by podRun.
 */

const IMAGE = 'localhost/flex-auth:image-test';
const PROBE_IMAGE = 'localhost/flex-auth-context-probe:image-test';
const RELEASE = 'flex-auth';
const NAMESPACE = 'flex-auth';
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** slirp4netns' address for the host's loopback, where the test API server listens. */
const HOST_LOOPBACK_FROM_CONTAINER = '10.0.2.2';
/** A name in the API server certificate's SANs, as kubernetes.default.svc is in a cluster's. */
const API_SERVER_NAME = 'kubernetes.default.svc';

const containerName = (role: string) => `flex-auth-image-test-${process.pid}-${role}`;
const seconds = (ms: number) => (ms / 1000).toFixed(1);

async function must(command: string, args: string[], options: { stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** Every file below root/relative, as paths relative to root: what a build context without .dockerignore would send of it. */
async function filesUnder(root: string, relative: string): Promise<string[]> {
  const entries = await readdir(path.join(root, relative), { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

interface Running {
  readonly name: string;
  /** The checks' port. */
  readonly url: string;
  /** Where the readiness probe asks (the chart's diagnostic port, `/readyz`). */
  readonly probeUrl: string;
  readonly probePath: string;
}

/** Starts the image detached with the pod's options, the container ports published on 127.0.0.1 (random host ports). */
async function startContainer(name: string, pod: PodRun, extra: string[], args: string[]): Promise<Running> {
  const publish = pod.ports.flatMap((port) => ['--publish', `127.0.0.1::${port}`]);
  await mustPodman(['run', '--detach', '--name', name, ...PODMAN_ULIMITS, ...pod.options, ...extra, ...publish, IMAGE, ...args]);
  const hostPort = async (port: number) => (await mustPodman(['port', name, `${port}/tcp`])).trim();
  return { name, url: `http://${await hostPort(pod.ports[0]!)}`, probeUrl: `http://${await hostPort(pod.readiness.port)}`, probePath: pod.readiness.path };
}

async function containerLogs(name: string): Promise<string> {
  const logs = await podman(['logs', name]);
  return `${logs.stdout}${logs.stderr}`;
}

/**
 * Polls the container's /readyz until `done` holds; fails at once, with the container's logs,
 * when the container has exited, and with them too on a timeout.
 */
async function readyzUntil(server: Running, done: (r: HttpResult) => boolean, description: string, timeoutMs = 60_000): Promise<HttpResult> {
  const probe = async (): Promise<HttpResult | string> => {
    try {
      return await getJson(server.probeUrl, server.probePath);
    } catch (error) {
      const state = (await mustPodman(['inspect', '--format', '{{.State.Status}} (exit code {{.State.ExitCode}})', server.name])).trim();
      if (!state.startsWith('running')) return state;
      throw error;
    }
  };
  const result = await pollUntil(probe, (r) => typeof r === 'string' || done(r), description, { timeoutMs, intervalMs: 200 })
    .catch(async (error: Error) => { throw new Error(`${error.message}\n${await containerLogs(server.name)}`); });
  if (typeof result === 'string') throw new Error(`the container ${result} while waiting for ${description}:\n${await containerLogs(server.name)}`);
  return result;
}

/** pid 1 of the container, as the kernel sees it: uid, capabilities, no_new_privs. */
async function processStatus(name: string): Promise<Record<string, string>> {
  const status = await mustPodman(['exec', name, 'cat', '/proc/1/status']);
  return Object.fromEntries(status.split('\n').filter((l) => l.includes(':')).map((l) => {
    const at = l.indexOf(':');
    return [l.slice(0, at), l.slice(at + 1).trim()];
  }));
}

describe('the container image, built from the Dockerfile and run as the Helm chart runs it', function () {
  this.timeout(120_000);
  let dir: string;
  let baseImage: string;
  let helmBin: string;
  let helmEnv: Record<string, string>;
  let pod: PodRun;
  let serviceAccount: string;
  const started: string[] = [];

  before(async function () {
    this.timeout(3_600_000); // a cold run assembles the base and downloads the dependencies twice
    if (!process.env.K8S_TEST_ENV_DIR || !process.env.K8S_API_PORT || !process.env.K8S_CA_FILE) {
      throw new Error('run under scripts/k8s-test-env.sh (npm run test:image): the container reaches its API server on the host loopback');
    }
    dir = await makeTempDir('flex-auth-image-');

    let t0 = Date.now();
    baseImage = (await must('bash', [path.join(PACKAGE_ROOT, 'scripts', 'image-base.sh')], { timeoutMs: 3_000_000 })).trim();
    console.log(`      base ${baseImage} ready in ${seconds(Date.now() - t0)} s`);

    t0 = Date.now();
    const build = await podman(['build', ...PODMAN_ULIMITS, '--build-arg', `NODE_IMAGE=${baseImage}`, '--tag', IMAGE, PACKAGE_ROOT], 1_800_000);
    await writeFile(path.join(dir, 'build.log'), `${build.stdout}${build.stderr}`);
    if (build.code !== 0) throw new Error(`podman build failed (exit ${build.code}):\n${build.stderr.slice(-4000)}`);
    const [size, layers] = (await mustPodman(['image', 'inspect', '--format', '{{.Size}} {{len .RootFS.Layers}}', IMAGE])).trim().split(' ');
    console.log(`      podman build of the Dockerfile in ${seconds(Date.now() - t0)} s: ${IMAGE}, ${(Number(size) / 1e6).toFixed(1)} MB, ${layers} layers`);

    const helmPath = await must('bash', [path.join(PACKAGE_ROOT, 'scripts', 'helm.sh'), 'path'], { timeoutMs: 3_650_000 });
    helmBin = helmPath.trim();
    helmEnv = { HELM_CACHE_HOME: path.join(dir, 'helm-cache'), HELM_CONFIG_HOME: path.join(dir, 'helm-config'), HELM_DATA_HOME: path.join(dir, 'helm-data') };
    // The chart installed for real; its Deployment, as the API server stored it, is the pod spec a kubelet would run.
    await must(helmBin, ['install', RELEASE, path.join(PACKAGE_ROOT, 'charts', 'flex-auth'), '--namespace', NAMESPACE, '--create-namespace'], { env: helmEnv });
    const deployment = JSON.parse(await must('kubectl', ['-n', NAMESPACE, 'get', 'deployment', RELEASE, '-o', 'json'])) as Record<string, any>;
    pod = podRun(deployment.spec.template.spec);
    serviceAccount = deployment.spec.template.spec.serviceAccountName;
  });

  after(async () => {
    for (const name of started) await podman(['rm', '--force', '--time', '0', name]);
    // IMAGE stays, with its build layers: the next run's build reuses them.
    await podman(['rmi', '--force', PROBE_IMAGE]);
    await removeDir(dir);
  });

  it('the build context holds only what the Dockerfile copies (.dockerignore)', async () => {
    const probeDir = path.join(dir, 'context-probe');
    await mkdir(probeDir);
    await writeFile(path.join(probeDir, 'Containerfile'), 'FROM scratch\nCOPY . /\n');
    await mustPodman(['build', '--file', path.join(probeDir, 'Containerfile'), '--tag', PROBE_IMAGE, PACKAGE_ROOT]);
    const name = containerName('context');
    await mustPodman(['create', '--name', name, PROBE_IMAGE, 'none']);
    started.push(name);
    const listing = await must('bash', ['-o', 'pipefail', '-c', `podman export ${name} | tar -t`]);
    const sent = listing.split('\n').filter((entry) => entry && !entry.endsWith('/')).sort();
    const wanted = ['package.json', 'package-lock.json', 'tsconfig.json', ...await filesUnder(PACKAGE_ROOT, 'src'), ...await filesUnder(PACKAGE_ROOT, 'examples')].sort();
    expect(sent).to.deep.equal(wanted);
  });

  describe('on the embedded registry (no registry source)', () => {
    let server: Running;

    it('becomes ready as uid 10001 with a read-only root, no capabilities and no new privileges', async () => {
      // The chart's container without its args: the image's CMD (`serve`), which serves the embedded example.
      const name = containerName('embedded');
      started.push(name);
      server = await startContainer(name, pod, [], []);
      const ready = await readyzUntil(server, (r) => r.status === 200, '/readyz 200');
      const embedded = JSON.parse(await readFile(PRODUCTION_REGISTRY, 'utf8')) as unknown;
      expect(ready.body).to.include({ ready: true, source: 'embedded:examples/ops-warden/production_registry_snapshot.json', revision: expectedRevision(embedded) });
      expect((await postCheck(server.url, checkFor('agt-state-hub-bridge'))).body.allow).to.equal(true);

      const status = await processStatus(name);
      expect(status.Uid!.split(/\s+/)).to.deep.equal(['10001', '10001', '10001', '10001']);
      expect(status.Gid!.split(/\s+/)).to.deep.equal(['10001', '10001', '10001', '10001']);
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(status[set], set).to.equal('0000000000000000');
      expect(status.NoNewPrivs).to.equal('1');
      expect(status.Seccomp).to.equal('2');
      // The ENTRYPOINT's Node flags reach V8 under the chart's memory limit: the young
      // generation's two semi-spaces are 16 MiB each from the start (docs/deployment.md, Node
      // flags). Under 768Mi Node 20 caps a semi-space at 4 MiB, and with the minimum alone that
      // is what it got: 8 MiB in all.
      const cmdline = (await mustPodman(['exec', name, 'cat', '/proc/1/cmdline'])).split('\0').filter(Boolean);
      expect(cmdline).to.deep.equal(['node', '--max-semi-space-size=16', '--min-semi-space-size=16', 'dist/src/cli/index.js', 'serve']);
      const metrics = (await getJson(server.probeUrl, '/metrics')).text;
      const newSpace = /^nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(metrics)?.[1];
      expect(Number(newSpace), 'the new space in /metrics').to.be.at.least(32 * 2 ** 20);
      const writeRoot = await podman(['exec', name, 'touch', '/app/probe']);
      expect(writeRoot.stderr).to.match(/Read-only file system/);
      expect((await podman(['exec', name, 'touch', '/tmp/probe'])).code).to.equal(0);
    });
  });

  describe('in-cluster, on the real API server\'s ConfigMap', () => {
    let server: Running;
    let registry: Record<string, any>;
    const ready = () => getJson(server.probeUrl, server.probePath);
    const servedRevision = (revision: string) =>
      readyzUntil(server, (r) => r.body?.revision === revision, `revision ${revision} in /readyz`);

    it('serves the chart\'s registry with the ServiceAccount token mounted where Kubernetes mounts it', async () => {
      expect(pod.automountServiceAccountToken).to.equal(true);
      const tokenDir = path.join(dir, 'serviceaccount');
      await mkdir(tokenDir, { mode: 0o755 });
      await chmod(tokenDir, 0o755);
      const token = (await must('kubectl', ['-n', NAMESPACE, 'create', 'token', serviceAccount, '--duration=1h'])).trim();
      await writeFile(path.join(tokenDir, 'token'), token, { mode: 0o644 });
      await copyFile(process.env.K8S_CA_FILE!, path.join(tokenDir, 'ca.crt'));
      await chmod(path.join(tokenDir, 'ca.crt'), 0o644);
      await writeFile(path.join(tokenDir, 'namespace'), NAMESPACE, { mode: 0o644 });

      // The kubelet's in-cluster environment; the API server is on the host's loopback, reached through slirp4netns.
      const name = containerName('in-cluster');
      started.push(name);
      server = await startContainer(name, pod, [
        '--network', 'slirp4netns:allow_host_loopback=true', '--add-host', `${API_SERVER_NAME}:${HOST_LOOPBACK_FROM_CONTAINER}`,
        '--volume', `${tokenDir}:${SERVICE_ACCOUNT_DIR}:ro`,
        '--env', `KUBERNETES_SERVICE_HOST=${API_SERVER_NAME}`, '--env', `KUBERNETES_SERVICE_PORT=${process.env.K8S_API_PORT}`,
      ], pod.args);

      const configMap = JSON.parse(await must('kubectl', ['-n', NAMESPACE, 'get', 'configmap', 'flex-auth-registry', '-o', 'json'])) as Record<string, any>;
      registry = JSON.parse(configMap.data['registry.json'] as string) as Record<string, any>;
      const status = await servedRevision(expectedRevision(registry));
      expect(status.status).to.equal(200);
      expect(status.body).to.include({ source: `configmap:${NAMESPACE}/flex-auth-registry`, source_version: configMap.metadata.resourceVersion, last_error: null });
      expect((await postCheck(server.url, checkFor('agt-state-hub-bridge'))).body.allow).to.equal(true);
    });

    it('follows a kubectl apply of a new registry', async () => {
      registry.actors.push({ name: 'agt-image-added', type: 'agent', principals: ['agt-image-added'], ttl: { default: '1h', max: '2h' }, allowed_subjects: ['agt-image-added'] });
      expect((await postCheck(server.url, checkFor('agt-image-added'))).body.allow).to.equal(false);
      const manifest = await must(process.execPath, [CLI, 'configmap', '--namespace', NAMESPACE, '-'], { stdin: JSON.stringify(registry) });
      await must('kubectl', ['apply', '-f', '-'], { stdin: manifest });
      await servedRevision(expectedRevision(registry));
      expect((await postCheck(server.url, checkFor('agt-image-added'))).body.allow).to.equal(true);
    });

    it('on SIGTERM turns unready, then exits 0 within the chart\'s terminationGracePeriodSeconds', async () => {
      const t0 = Date.now();
      await mustPodman(['kill', '--signal', 'TERM', server.name]);
      // The chart's shutdown delay keeps it serving, unready, so that the Service drops it first.
      const unready = await pollUntil(ready, (r) => r.status === 503, '/readyz 503 after SIGTERM', { timeoutMs: 10_000, intervalMs: 100 });
      expect(unready.body.ready).to.equal(false);
      const exitCode = (await mustPodman(['wait', server.name], pod.terminationGracePeriodSeconds * 1000 + 30_000)).trim();
      const elapsedMs = Date.now() - t0;
      console.log(`      SIGTERM to exit: ${seconds(elapsedMs)} s (terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds})`);
      expect(exitCode).to.equal('0');
      expect(elapsedMs).to.be.below(pod.terminationGracePeriodSeconds * 1000);
      expect(await containerLogs(server.name)).to.match(/"msg":"stopped"/);
    });
  });
});
