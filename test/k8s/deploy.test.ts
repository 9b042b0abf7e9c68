import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parseYaml, parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import { checkFor } from '../helpers/documents.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { startServer, stopAll } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { getJson, postCheck } from '../helpers/http.js';
import { CLI, PACKAGE_ROOT, PRODUCTION_REGISTRY } from '../helpers/paths.js';
import { pollUntil } from '../helpers/poll.js';
import { runCommand as run } from '../helpers/process.js';
import { expectedRevision } from '../helpers/revision.js';

/**
 * The deployment artifacts against a real kube-apiserver (scripts/k8s-test-env.sh run, as
 * `npm run test:k8s` does) with Helm built by scripts/helm.sh:
 *
 * - `helm lint --strict` and `helm template` of charts/flex-auth for the default values and for
 *   every charts/flex-auth/ci/*-values.yaml; what a reviewer checks in the rendered objects
 *   (names, selectors, probes, resources, security context, RBAC, rollout, args); the values
 *   schema's refusals;
 * - every rendered object, and `kubectl kustomize deploy/`, accepted by the API server
 *   (`kubectl apply --dry-run=server --validate=strict`, in namespace flex-auth); deploy/ is the
 *   chart's default render, Helm's own labels aside;
 * - a real `helm install` (into namespace flex-auth-chart: the configmap-source suite, which runs
 *   first, leaves its own ServiceAccount and Role in flex-auth) and `flex-auth serve` run outside
 *   the cluster with the installed Deployment's args and the chart's ServiceAccount token: ready
 *   with the chart's registry revision, then following a `kubectl apply` of an update; `helm
 *   upgrade` and `helm uninstall`; an install with `registry.existingConfigMap` that leaves
 *   ops-warden's ConfigMap alone.
 *
 * No pods run (the harness has no nodes, scheduler or controllers): nothing here proves the image
 * or the probes in a running pod.
 *
 * ServiceMonitor and PrometheusRule: the harness has no Prometheus Operator, so the suite
 * installs minimal CRDs (test/k8s/fixtures/monitoring-crds.yaml) that accept and store those
 * kinds but keep unknown fields; their fields are checked here, client-side. On a cluster that
 * already has the CRDs, they are used as they are.
 */

type Doc = Record<string, any>;

const CHART = path.join(PACKAGE_ROOT, 'charts', 'flex-auth');
const CHART_REGISTRY = path.join(CHART, 'files', 'production_registry_snapshot.json');
const RULES = path.join(PACKAGE_ROOT, 'deploy', 'prometheus', 'flex-auth-rules.yaml');
const CRDS = path.join(PACKAGE_ROOT, 'test', 'k8s', 'fixtures', 'monitoring-crds.yaml');
const CRD_NAMES = ['servicemonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com'];
const EXAMPLE_VALUES = readdirSync(path.join(CHART, 'ci')).filter((f) => f.endsWith('-values.yaml')).sort();

/** The contract's namespace, for renders and server-side dry runs. */
const NAMESPACE = 'flex-auth';
/** Where the chart is really installed (fresh; the contract's names apart from the namespace). */
const INSTALL_NAMESPACE = process.env.FLEX_AUTH_CHART_TEST_NAMESPACE ?? 'flex-auth-chart';
/** Where ops-warden owns the registry ConfigMap and the chart uses it (registry.existingConfigMap). */
const OWNED_NAMESPACE = `${INSTALL_NAMESPACE}-owned`;
const harnessDir = process.env.K8S_TEST_ENV_DIR;


async function must(command: string, args: string[], options: { stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new Error(`${path.basename(command)} ${args.join(' ')} failed (exit ${result.code}): ${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** kubectl as the cluster admin (the harness's KUBECONFIG). */
const kubectl = (args: string[], stdin?: string) => must('kubectl', args, { stdin });

/** Parses a multi-document YAML stream; fails on any YAML error; drops empty documents. */
function parseDocs(text: string): Doc[] {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
  return list.map((doc) => doc.toJS() as Doc | null).filter((doc): doc is Doc => doc !== null && typeof doc === 'object');
}

const key = (doc: Doc) => `${doc.kind}/${doc.metadata?.name}`;

/** At most this many parts (docs/registry.md): the Role names each one. */
const MAX_PARTS = 64;

/**
 * The Role's rules for a registry ConfigMap: get, list and watch on it (the watch's field
 * selector), and get, nothing more, on each of its fixed-name parts.
 */
function registryRules(name: string): Doc[] {
  return [
    { apiGroups: [''], resources: ['configmaps'], resourceNames: [name], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['configmaps'], resourceNames: Array.from({ length: MAX_PARTS }, (_, i) => `${name}-part-${i}`), verbs: ['get'] },
    // Each pod's RegistryLoaded/RegistryRejected Event (contract sections 13 and 16).
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  ];
}

function find(docs: Doc[], kind: string, name?: string): Doc {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata?.name === name));
  expect(found, `exactly one ${kind}${name ? ` ${name}` : ''} in ${docs.map(key).join(', ')}`).to.have.length(1);
  return found[0]!;
}

/** True when every label the selector asks for is on the object. */
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

describe('the Helm chart and deploy/ against a real Kubernetes API server', function () {
  this.timeout(180_000);
  let helmBin: string;
  let dir: string;
  let helmEnv: Record<string, string>;
  const renders = new Map<string, Doc[]>();
  let createdNamespace = false;
  let installedCrds = false;
  let server: ServerProcess | undefined;

  const helm = (args: string[], timeoutMs = 120_000) => must(helmBin, args, { env: helmEnv, timeoutMs });
  const helmRun = (args: string[]) => run(helmBin, args, { env: helmEnv, timeoutMs: 120_000 });
  const valuesArgs = (file?: string) => (file ? ['-f', path.join(CHART, 'ci', file)] : []);
  const render = async (file?: string, namespace = NAMESPACE, extra: string[] = []) =>
    parseDocs(await helm(['template', 'flex-auth', CHART, '--namespace', namespace, ...valuesArgs(file), ...extra]));
  const defaults = () => renders.get('default')!;

  before(async function () {
    this.timeout(3_700_000); // a cold Helm build from the module proxy takes minutes
    if (!process.env.KUBECONFIG) throw new Error('KUBECONFIG is not set: run `npm run test:k8s`, or point KUBECONFIG at a cluster');
    const built = await run('bash', [path.join(PACKAGE_ROOT, 'scripts', 'helm.sh'), 'path'], { timeoutMs: 3_650_000 });
    if (built.code !== 0) throw new Error(`scripts/helm.sh failed: ${built.stderr}`);
    helmBin = built.stdout.trim();
    dir = await makeTempDir('flex-auth-helm-');
    // Helm's own cache, config and data go to the temporary directory, not the user's home.
    helmEnv = { HELM_CACHE_HOME: path.join(dir, 'helm-cache'), HELM_CONFIG_HOME: path.join(dir, 'helm-config'), HELM_DATA_HOME: path.join(dir, 'helm-data') };
    console.log(`      helm ${(await helm(['version', '--short'])).trim()} (${helmBin})`);

    for (const ns of [INSTALL_NAMESPACE, OWNED_NAMESPACE]) {
      if ((await run('kubectl', ['get', 'namespace', ns])).code === 0) {
        throw new Error(`namespace ${ns} already exists; set FLEX_AUTH_CHART_TEST_NAMESPACE to a throwaway namespace`);
      }
    }
    // Dry runs of namespaced objects need their namespace; the configmap-source suite leaves it on the harness.
    if ((await run('kubectl', ['get', 'namespace', NAMESPACE])).code !== 0) {
      await kubectl(['create', 'namespace', NAMESPACE]);
      createdNamespace = true;
    }
    const existingCrds = await run('kubectl', ['get', 'crd', ...CRD_NAMES]);
    if (existingCrds.code !== 0) {
      await kubectl(['apply', '-f', CRDS]);
      installedCrds = true;
    }
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...CRD_NAMES.map((n) => `crd/${n}`)]);

    renders.set('default', await render());
    for (const file of EXAMPLE_VALUES) renders.set(file, await render(file));
  });

  after(async () => {
    await stopAll(server);
    // The harness's API server is thrown away whole (and has no namespace controller to finish a delete).
    if (!harnessDir && helmBin) {
      for (const ns of [INSTALL_NAMESPACE, OWNED_NAMESPACE]) {
        await helmRun(['uninstall', 'flex-auth', '--namespace', ns]);
        await run('kubectl', ['delete', 'namespace', ns, '--wait=false']);
      }
      if (createdNamespace) await run('kubectl', ['delete', 'namespace', NAMESPACE, '--wait=false']);
      if (installedCrds) await run('kubectl', ['delete', 'crd', ...CRD_NAMES]);
    }
    await removeDir(dir);
  });

  describe('helm lint and the values schema', () => {
    it('lints clean (--strict) with the default values and with every example values file', async () => {
      expect(EXAMPLE_VALUES).to.include.members([
        'existing-configmap-values.yaml', 'monitoring-values.yaml', 'networkpolicy-values.yaml', 'inline-registry-values.yaml', 'production-values.yaml',
      ]);
      for (const file of [undefined, ...EXAMPLE_VALUES]) {
        const out = await helm(['lint', '--strict', CHART, '--namespace', NAMESPACE, ...valuesArgs(file)]);
        expect(out, file ?? 'default values').to.match(/1 chart\(s\) linted, 0 chart\(s\) failed/);
        expect(out, file ?? 'default values').not.to.match(/\[(WARNING|ERROR)\]/);
      }
    });

    it('rejects an unknown key at the top and deep down, and a value of the wrong type', async () => {
      for (const [set, complaint] of [
        ['replicas=3', /additional properties 'replicas' not allowed/],
        ['image.tagg=1.0', /additional properties 'tagg' not allowed/],
        ['networkPolicy.apiServer.cidr=10.0.0.1/32', /additional properties 'cidr' not allowed/],
        ['metrics.serviceMonitor.enable=true', /additional properties 'enable' not allowed/],
        ['replicaCount=two', /replicaCount.*(want integer|expected integer|integer)/],
      ] as const) {
        const result = await helmRun(['template', 'flex-auth', CHART, '--set', set]);
        expect(result.code, set).not.to.equal(0);
        expect(result.stderr, set).to.match(complaint);
      }
    });

    it('refuses contradictory or broken values instead of rendering them', async () => {
      const values = async (name: string, text: string) => {
        const file = path.join(dir, name);
        await writeFile(file, text);
        return helmRun(['template', 'flex-auth', CHART, '-f', file]);
      };
      const both = await values('both.yaml', 'registry:\n  existingConfigMap: flex-auth-registry\n  inline: \'{"schema":"flex-auth.registry/v1","actors":[]}\'\n');
      expect(both.stderr).to.match(/registry.existingConfigMap and registry.inline are exclusive/);
      const notJson = await values('not-json.yaml', 'registry:\n  inline: "actors: []"\n');
      expect(notJson.stderr).to.match(/registry.inline is not a JSON object/);
      const noDrain = await values('no-drain.yaml', 'replicaCount: 1\n');
      expect(noDrain.stderr).to.match(/podDisruptionBudget.minAvailable \(1\) must be below replicaCount \(1\)/);
      const shortGrace = await values('short-grace.yaml', 'shutdownDelaySeconds: 20\nterminationGracePeriodSeconds: 30\n');
      expect(shortGrace.stderr).to.match(/terminationGracePeriodSeconds \(30\) must be at least shutdownDelaySeconds \+ 15 \(35\)/);
      const samePort = await values('same-port.yaml', 'diagnosticPort: 8080\n');
      expect(samePort.stderr).to.match(/diagnosticPort must not be 8080/);
      const noCallers = await values('no-callers.yaml', 'auth:\n  tokenReview:\n    audience: flex-auth\n');
      expect(noCallers.stderr).to.match(/auth.tokenReview.audience needs auth.tokenReview.allowedCallers/);
      const noAudience = await values('no-audience.yaml', 'auth:\n  tokenReview:\n    allowedCallers: [system:serviceaccount:ops-warden:ops-warden]\n');
      expect(noAudience.stderr).to.match(/auth.tokenReview.allowedCallers needs auth.tokenReview.audience/);
      const noPort = await helmRun(['template', 'flex-auth', CHART, '--set', 'diagnosticPort=null']);
      expect(noPort.stderr).to.match(/missing property 'diagnosticPort'/);
      for (const result of [both, notJson, noDrain, shortGrace, samePort, noCallers, noAudience, noPort]) expect(result.code).not.to.equal(0);
    });

    it('renders exactly the max staleness values the service accepts (1s to 24h, or off), refusing the rest before any pod starts', async () => {
      const { parseDuration } = await import(path.join(PACKAGE_ROOT, 'dist', 'src', 'core', 'duration.js')) as typeof import('../../src/core/duration.js');
      // serve's own rule for --max-staleness (src/cli/serve.ts).
      const served = (bound: string) => {
        const parsed = parseDuration(bound);
        return bound === 'off' || (parsed.ok && parsed.seconds >= 1 && parsed.seconds <= 86_400);
      };
      for (const bound of ['48h', '0s', '24h1s', '1441m', '86401s', '1s', '5m', '1h30m', '24h', '1440m', '86400s', 'off']) {
        const result = await helmRun(['template', 'flex-auth', CHART, '--set-string', `maxStaleness=${bound}`]);
        if (!served(bound)) {
          expect(result.code, bound).not.to.equal(0);
          expect(result.stderr, bound).to.include(`maxStaleness must be a duration from 1s to 24h, or off (got ${bound})`);
          continue;
        }
        expect(result.code, `${bound}: ${result.stderr}`).to.equal(0);
        const env = find(parseAllDocuments(result.stdout).map((d) => d.toJS() as Doc), 'Deployment').spec.template.spec.containers[0].env as Doc[];
        expect(env.find((e) => e.name === 'FLEX_AUTH_MAX_STALENESS')?.value, bound).to.equal(bound);
      }
    });
  });

  describe('the default render', () => {
    it('is exactly the contract\'s objects, all in the release namespace', () => {
      expect(defaults().map(key).sort()).to.deep.equal([
        'ConfigMap/flex-auth-registry', 'Deployment/flex-auth', 'PodDisruptionBudget/flex-auth', 'Role/flex-auth-registry-reader',
        'RoleBinding/flex-auth-registry-reader', 'Service/flex-auth', 'ServiceAccount/flex-auth',
      ]);
      for (const doc of defaults()) expect(doc.metadata.namespace, key(doc)).to.equal(NAMESPACE);
    });

    it('keeps the contract\'s names whatever the release is called', async () => {
      const docs = parseDocs(await helm(['template', 'other', CHART, '--namespace', 'elsewhere']));
      expect(docs.map(key).sort()).to.deep.equal(defaults().map(key).sort());
      const args = find(docs, 'Deployment').spec.template.spec.containers[0].args as string[];
      expect(args).to.deep.equal(['serve', '--registry-configmap', 'elsewhere/flex-auth-registry']);
    });

    it('Deployment: 2 replicas, and a rollout never drops below them', () => {
      const spec = find(defaults(), 'Deployment', 'flex-auth').spec;
      expect(spec.replicas).to.equal(2);
      expect(spec.strategy).to.deep.equal({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    });

    it('the Deployment, Service, PodDisruptionBudget and topology spread all select the pod labels', () => {
      const deployment = find(defaults(), 'Deployment', 'flex-auth');
      const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
      const selector = deployment.spec.selector.matchLabels as Record<string, string>;
      expect(deployment.spec.selector.matchExpressions).to.equal(undefined);
      expect(selects(selector, podLabels), 'Deployment selector ⊆ pod labels').to.equal(true);
      // The selector holds only labels that never change on an upgrade (it is immutable).
      expect(Object.keys(selector).sort()).to.deep.equal(['app.kubernetes.io/instance', 'app.kubernetes.io/name']);
      const service = find(defaults(), 'Service', 'flex-auth');
      expect(service.spec.selector).to.deep.equal(selector);
      const pdb = find(defaults(), 'PodDisruptionBudget', 'flex-auth');
      expect(pdb.spec.selector).to.deep.equal({ matchLabels: selector });
      expect(pdb.spec.minAvailable).to.equal(1);
      const spread = deployment.spec.template.spec.topologySpreadConstraints as Doc[];
      expect(spread).to.deep.equal([
        { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } },
      ]);
      for (const doc of defaults()) expect(doc.metadata.labels?.['app.kubernetes.io/name'], key(doc)).to.equal('flex-auth');
    });

    it('the container: the image, `serve --registry-configmap flex-auth/flex-auth-registry`, port 8080, the diagnostic port 9090 and the probes on it', () => {
      const pod = find(defaults(), 'Deployment', 'flex-auth').spec.template.spec;
      expect(pod.containers).to.have.length(1);
      const container = pod.containers[0];
      expect(container.image).to.equal('flex-auth:0.1.0');
      expect(container.command).to.equal(undefined); // the image's ENTRYPOINT: node --max-semi-space-size=16 --min-semi-space-size=16 dist/src/cli/index.js
      expect(container.args).to.deep.equal(['serve', '--registry-configmap', 'flex-auth/flex-auth-registry']);
      expect(container.ports).to.deep.equal([{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'diagnostic', containerPort: 9090, protocol: 'TCP' }]);
      const env = Object.fromEntries((container.env as Doc[]).filter((e) => e.valueFrom === undefined).map((e) => [e.name, e.value]));
      expect(env).to.deep.equal({
        FLEX_AUTH_HOST: '0.0.0.0', FLEX_AUTH_PORT: '8080', FLEX_AUTH_DIAGNOSTIC_PORT: '9090', FLEX_AUTH_LOG_LEVEL: 'info', FLEX_AUTH_SHUTDOWN_DELAY: '5s', NODE_ENV: 'production',
      });
      expect(container.env).to.deep.include({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
      // The probes go to the diagnostic port: the main port answers /healthz and /readyz 404 when it is set.
      expect(container.livenessProbe.httpGet).to.deep.equal({ path: '/healthz', port: 'diagnostic' });
      expect(container.readinessProbe.httpGet).to.deep.equal({ path: '/readyz', port: 'diagnostic' });
      for (const probe of [container.livenessProbe, container.readinessProbe]) {
        expect(probe.timeoutSeconds).to.be.within(1, 5);
        expect(probe.periodSeconds).to.be.within(1, 30);
        expect(probe.failureThreshold).to.be.at.least(2);
      }
      // The probes answer in-process; a pod is killed only after 3 missed /healthz (30 s).
      expect(container.livenessProbe.failureThreshold * container.livenessProbe.periodSeconds).to.be.at.least(20);
      // On SIGTERM: unready but serving for the delay, then up to 10 s of draining, then 5 s to exit.
      expect(pod.terminationGracePeriodSeconds).to.be.at.least(5 + 15);
    });

    it('resources: requests and limits for cpu and memory', () => {
      const { resources } = find(defaults(), 'Deployment', 'flex-auth').spec.template.spec.containers[0];
      expect(resources).to.deep.equal({ requests: { cpu: '100m', memory: '384Mi' }, limits: { cpu: '1', memory: '768Mi' } });
    });

    it('security: non-root uid 10001, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
      const pod = find(defaults(), 'Deployment', 'flex-auth').spec.template.spec;
      expect(pod.securityContext).to.deep.equal({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } });
      const sc = pod.containers[0].securityContext;
      expect(sc).to.deep.equal({
        runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.hostNetwork ?? false).to.equal(false);
      expect(pod.hostPID ?? false).to.equal(false);
      // Writable scratch only through an emptyDir; no hostPath.
      expect(pod.volumes).to.deep.equal([{ name: 'tmp', emptyDir: { sizeLimit: '16Mi' } }]);
      expect(pod.containers[0].volumeMounts).to.deep.equal([{ name: 'tmp', mountPath: '/tmp' }]);
      // It reads the API, so this pod (only) mounts its token.
      expect(pod.serviceAccountName).to.equal('flex-auth');
      expect(pod.automountServiceAccountToken).to.equal(true);
      expect(find(defaults(), 'ServiceAccount', 'flex-auth').automountServiceAccountToken).to.equal(false);
    });

    it('Service flex-auth: port 8080 to the container port named http, 9090 to the one named diagnostic', () => {
      const service = find(defaults(), 'Service', 'flex-auth');
      expect(service.spec.type).to.equal('ClusterIP');
      expect(service.spec.ports).to.deep.equal([
        { name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' },
        { name: 'diagnostic', port: 9090, targetPort: 'diagnostic', protocol: 'TCP', appProtocol: 'http' },
      ]);
      const container = find(defaults(), 'Deployment', 'flex-auth').spec.template.spec.containers[0];
      expect(container.ports.find((p: Doc) => p.name === service.spec.ports[0].targetPort).containerPort).to.equal(8080);
      expect(container.ports.find((p: Doc) => p.name === service.spec.ports[1].targetPort).containerPort).to.equal(9090);
    });

    it('RBAC: get, list and watch on the one ConfigMap, get on its parts, bound to the ServiceAccount flex-auth only', () => {
      const role = find(defaults(), 'Role', 'flex-auth-registry-reader');
      expect(role.rules).to.deep.equal(registryRules('flex-auth-registry'));
      const binding = find(defaults(), 'RoleBinding', 'flex-auth-registry-reader');
      expect(binding.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'flex-auth-registry-reader' });
      expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: 'flex-auth', namespace: NAMESPACE }]);
      for (const [name, docs] of renders) {
        if (name === 'caller-identity-values.yaml') continue;
        expect(docs.filter((d) => /^Cluster(Role|RoleBinding)$/.test(d.kind)), `${name}: no cluster-wide RBAC without auth.tokenReview`).to.deep.equal([]);
      }
    });

    it('ConfigMap flex-auth-registry holds the example registry, byte for byte, under registry.json', () => {
      const configMap = find(defaults(), 'ConfigMap', 'flex-auth-registry');
      expect(Object.keys(configMap.data)).to.deep.equal(['registry.json']);
      expect(configMap.data['registry.json']).to.equal(readFileSync(PRODUCTION_REGISTRY, 'utf8'));
      expect(configMap.binaryData).to.equal(undefined);
    });

    it('Prometheus scrape annotations on the pod', () => {
      const { annotations } = find(defaults(), 'Deployment', 'flex-auth').spec.template.metadata;
      expect(annotations).to.deep.equal({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090', 'prometheus.io/path': '/metrics' });
    });
  });

  describe('the example values', () => {
    it('existing-configmap: no ConfigMap of the chart\'s own; the Role and the args name the existing one', () => {
      const docs = renders.get('existing-configmap-values.yaml')!;
      expect(docs.filter((d) => d.kind === 'ConfigMap')).to.deep.equal([]);
      expect(find(docs, 'Role').rules).to.deep.equal(registryRules('flex-auth-registry'));
      expect(find(docs, 'Deployment').spec.template.spec.containers[0].args).to.deep.equal(['serve', '--registry-configmap', 'flex-auth/flex-auth-registry']);
    });

    it('an existing ConfigMap under another name is the one the Role and the args name', async () => {
      const docs = await render(undefined, NAMESPACE, ['--set', 'registry.existingConfigMap=ops-warden-registry', '--set', 'registry.key=snapshot.json']);
      expect(docs.filter((d) => d.kind === 'ConfigMap')).to.deep.equal([]);
      expect(find(docs, 'Role').rules).to.deep.equal(registryRules('ops-warden-registry'));
      expect(find(docs, 'Deployment').spec.template.spec.containers[0].args).to.deep.equal([
        'serve', '--registry-configmap', 'flex-auth/ops-warden-registry', '--registry-key', 'snapshot.json',
      ]);
    });

    it('inline-registry: the ConfigMap holds the inline document, and it is a valid registry', async () => {
      const docs = renders.get('inline-registry-values.yaml')!;
      const inline = (parseYaml(readFileSync(path.join(CHART, 'ci', 'inline-registry-values.yaml'), 'utf8')) as Doc).registry.inline as string;
      const data = find(docs, 'ConfigMap', 'flex-auth-registry').data['registry.json'] as string;
      expect(data).to.equal(inline);
      const file = path.join(dir, 'inline.json');
      await writeFile(file, data);
      expect((await run(process.execPath, [CLI, 'validate', file])).code).to.equal(0);
    });

    it('monitoring: a ServiceMonitor that scrapes the Service\'s diagnostic port, and a PrometheusRule with deploy/prometheus/flex-auth-rules.yaml\'s groups', () => {
      const docs = renders.get('monitoring-values.yaml')!;
      const service = find(docs, 'Service', 'flex-auth');
      const monitor = find(docs, 'ServiceMonitor', 'flex-auth');
      expect(monitor.apiVersion).to.equal('monitoring.coreos.com/v1');
      expect(selects(monitor.spec.selector.matchLabels, service.metadata.labels), 'ServiceMonitor selects the Service').to.equal(true);
      expect(monitor.spec.namespaceSelector).to.deep.equal({ matchNames: [NAMESPACE] });
      expect(monitor.spec.endpoints).to.deep.equal([{ port: 'diagnostic', path: '/metrics', scheme: 'http', interval: '30s', scrapeTimeout: '10s' }]);
      expect(service.spec.ports.map((p: Doc) => p.name)).to.include('diagnostic');
      expect(monitor.metadata.labels.release).to.equal('prometheus');
      // Annotation-based scraping is off, or every pod would be scraped twice.
      expect(find(docs, 'Deployment').spec.template.metadata.annotations).to.equal(undefined);

      const rule = find(docs, 'PrometheusRule', 'flex-auth');
      expect(rule.apiVersion).to.equal('monitoring.coreos.com/v1');
      expect(rule.metadata.labels.release).to.equal('prometheus');
      const source = parseYaml(readFileSync(RULES, 'utf8')) as Doc;
      expect(rule.spec).to.deep.equal({ groups: source.groups });
      // The annotations' Go templates reach Prometheus untouched by Helm.
      const annotations = JSON.stringify((rule.spec.groups as Doc[]).flatMap((g) => g.rules.map((r: Doc) => r.annotations ?? {})));
      expect(annotations).to.include('{{ $labels.instance }}');
    });

    it('networkpolicy: ingress to 8080 from ops-warden\'s pods and the listed peers only, to 9090 from Prometheus only; egress to the API server and DNS only', () => {
      const docs = renders.get('networkpolicy-values.yaml')!;
      const policy = find(docs, 'NetworkPolicy', 'flex-auth');
      const podLabels = find(docs, 'Deployment').spec.template.metadata.labels;
      expect(selects(policy.spec.podSelector.matchLabels, podLabels), 'NetworkPolicy selects the pods').to.equal(true);
      expect(policy.spec.policyTypes).to.deep.equal(['Ingress', 'Egress']);
      const values = parseYaml(readFileSync(path.join(CHART, 'ci', 'networkpolicy-values.yaml'), 'utf8')) as Doc;
      const chartValues = parseYaml(readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Doc;
      expect(policy.spec.ingress).to.deep.equal([
        { from: [chartValues.networkPolicy.opsWarden, ...values.networkPolicy.ingressFrom], ports: [{ protocol: 'TCP', port: 8080 }] },
        { from: [chartValues.networkPolicy.prometheus], ports: [{ protocol: 'TCP', port: 9090 }] },
      ]);
      expect(policy.spec.egress).to.deep.equal([
        { to: [{ ipBlock: { cidr: '10.0.0.1/32' } }, { ipBlock: { cidr: '192.168.10.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 6443 }] },
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
        },
      ]);
    });

    it('networkpolicy with the default selectors and no API server addresses: ops-warden\'s pods to 8080, Prometheus\' to 9090, API server ports to anywhere', async () => {
      const policy = find(await render(undefined, NAMESPACE, ['--set', 'networkPolicy.enabled=true']), 'NetworkPolicy', 'flex-auth');
      expect(policy.spec.ingress).to.deep.equal([
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ops-warden' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ops-warden' } } }],
          ports: [{ protocol: 'TCP', port: 8080 }],
        },
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
          ports: [{ protocol: 'TCP', port: 9090 }],
        },
      ]);
      expect(policy.spec.egress[0]).to.deep.equal({ ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 6443 }] });
    });

    it('production: every option at once still selects, names and binds consistently', () => {
      const docs = renders.get('production-values.yaml')!;
      expect(docs.map(key).sort()).to.deep.equal([
        'Deployment/flex-auth', 'NetworkPolicy/flex-auth', 'PodDisruptionBudget/flex-auth', 'PrometheusRule/flex-auth',
        'Role/flex-auth-registry-reader', 'RoleBinding/flex-auth-registry-reader', 'Service/flex-auth', 'ServiceAccount/flex-auth', 'ServiceMonitor/flex-auth',
      ]);
      const deployment = find(docs, 'Deployment');
      expect(deployment.spec.replicas).to.equal(3);
      expect(find(docs, 'PodDisruptionBudget').spec.minAvailable).to.equal(2);
      expect(deployment.spec.template.spec.containers[0].image).to.equal('registry.example.internal/platform/flex-auth:0.1.0');
      expect(deployment.spec.template.spec.imagePullSecrets).to.deep.equal([{ name: 'registry-credentials' }]);
      for (const selecting of [find(docs, 'Service').spec.selector, find(docs, 'PodDisruptionBudget').spec.selector.matchLabels, find(docs, 'NetworkPolicy').spec.podSelector.matchLabels]) {
        expect(selects(selecting, deployment.spec.template.metadata.labels)).to.equal(true);
      }
    });

    it('production: caller tokens from the Secret, mounted read-only as a directory, for FLEX_AUTH_AUTH_TOKEN_FILE', () => {
      const pod = find(renders.get('production-values.yaml')!, 'Deployment').spec.template.spec;
      const container = pod.containers[0];
      const env = Object.fromEntries((container.env as Doc[]).map((e) => [e.name, e.value]));
      expect(env.FLEX_AUTH_AUTH_TOKEN_FILE).to.equal('/etc/flex-auth/auth/tokens');
      expect(env.FLEX_AUTH_SHUTDOWN_DELAY).to.equal('10s');
      expect(pod.terminationGracePeriodSeconds).to.be.at.least(10 + 15);
      // A directory mount, not subPath: a rotated Secret reaches the running pod, whose file watcher follows it.
      expect(container.volumeMounts).to.deep.include({ name: 'auth-tokens', mountPath: '/etc/flex-auth/auth', readOnly: true });
      expect(container.volumeMounts.every((m: Doc) => m.subPath === undefined)).to.equal(true);
      expect(pod.volumes).to.deep.include({ name: 'auth-tokens', secret: { secretName: 'flex-auth-callers', defaultMode: 0o440, items: [{ key: 'tokens', path: 'tokens' }] } });
      // Without a Secret, no authentication and no token file.
      const defaultEnv = (find(defaults(), 'Deployment').spec.template.spec.containers[0].env as Doc[]).map((e) => e.name);
      expect(defaultEnv).not.to.include('FLEX_AUTH_AUTH_TOKEN_FILE');
    });

    it('caller-identity: TokenReview settings in the environment, and a ClusterRole that may create tokenreviews and nothing else, bound to flex-auth', () => {
      const docs = renders.get('caller-identity-values.yaml')!;
      const env = Object.fromEntries((find(docs, 'Deployment').spec.template.spec.containers[0].env as Doc[]).map((e) => [e.name, e.value]));
      expect(env).to.include({ FLEX_AUTH_AUTH_TOKENREVIEW_AUDIENCE: 'flex-auth', FLEX_AUTH_ALLOWED_CALLERS: 'system:serviceaccount:ops-warden:ops-warden' });
      const role = find(docs, 'ClusterRole', 'flex-auth-tokenreviewer-flex-auth');
      expect(role.metadata.namespace).to.equal(undefined);
      expect(role.rules).to.deep.equal([{ apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] }]);
      const binding = find(docs, 'ClusterRoleBinding', 'flex-auth-tokenreviewer-flex-auth');
      expect(binding.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'flex-auth-tokenreviewer-flex-auth' });
      expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: 'flex-auth', namespace: NAMESPACE }]);
      // Without an audience: no TokenReview settings.
      const defaultEnv = (find(defaults(), 'Deployment').spec.template.spec.containers[0].env as Doc[]).map((e) => e.name);
      expect(defaultEnv).not.to.include('FLEX_AUTH_AUTH_TOKENREVIEW_AUDIENCE');
    });

    it('an image digest wins over the tag', async () => {
      const digest = `sha256:${'ab'.repeat(32)}`;
      const docs = await render(undefined, NAMESPACE, ['--set', 'image.repository=registry.example.internal/flex-auth', '--set', `image.digest=${digest}`]);
      expect(find(docs, 'Deployment').spec.template.spec.containers[0].image).to.equal(`registry.example.internal/flex-auth@${digest}`);
    });
  });

  describe('the API server\'s verdict', () => {
    /** `kubectl apply --dry-run=server --validate=strict`: admission, schema and unknown fields, nothing stored. */
    async function dryRun(docs: Doc[], what: string): Promise<void> {
      const stream = docs.map((d) => stringifyYaml(d)).join('---\n');
      const result = await run('kubectl', ['apply', '--dry-run=server', '--validate=strict', '-f', '-'], { stdin: stream });
      expect(result.code, `${what}: ${result.stderr}`).to.equal(0);
      // kubectl's own note about objects it did not create (the configmap-source suite's) aside, no warning at all.
      const warnings = result.stderr.split('\n').filter((l) => l.trim() !== '' && !/missing the kubectl.kubernetes.io\/last-applied-configuration annotation/.test(l));
      expect(warnings, what).to.deep.equal([]);
      const accepted = result.stdout.split('\n').filter((l) => /\((server dry run)\)$/.test(l));
      expect(accepted, `${what}: ${result.stdout}`).to.have.length(docs.length);
    }

    it('accepts every object of the default render and of every example render', async () => {
      for (const [name, docs] of renders) await dryRun(docs, name);
      // The monitoring kinds are judged by the cluster's CRDs: on the harness, the minimal stand-ins.
      if (installedCrds) console.log('      (ServiceMonitor and PrometheusRule: accepted by minimal test CRDs; their fields are checked client-side above)');
    });

    it('rejects what is wrong, so the acceptance means something', async () => {
      const deployment = structuredClone(find(defaults(), 'Deployment'));
      deployment.spec.template.spec.containers[0].readinessProbe.httpGett = deployment.spec.template.spec.containers[0].readinessProbe.httpGet;
      const unknownField = await run('kubectl', ['apply', '--dry-run=server', '--validate=strict', '-f', '-'], { stdin: JSON.stringify(deployment) });
      expect(unknownField.code).not.to.equal(0);
      expect(unknownField.stderr).to.match(/unknown field.*httpGett/);
      const pdb = structuredClone(find(defaults(), 'PodDisruptionBudget'));
      pdb.spec.maxUnavailable = 1; // minAvailable and maxUnavailable together are invalid
      const invalid = await run('kubectl', ['apply', '--dry-run=server', '--validate=strict', '-f', '-'], { stdin: JSON.stringify(pdb) });
      expect(invalid.code).not.to.equal(0);
      expect(invalid.stderr).to.match(/minAvailable|maxUnavailable/);
    });

    /** A chart object without the labels only Helm sets. */
    const withoutHelm = (doc: Doc): Doc => {
      const copy = structuredClone(doc);
      for (const labels of [copy.metadata?.labels, copy.spec?.template?.metadata?.labels]) {
        if (labels) {
          expect(labels['app.kubernetes.io/managed-by']).to.equal('Helm');
          delete labels['app.kubernetes.io/managed-by'];
          delete labels['helm.sh/chart'];
        }
      }
      return copy;
    };

    /** `kubectl kustomize DIR` is the chart's render, Helm's own labels aside, plus the Namespace. */
    async function expectKustomizeIsChart(dirParts: string[], chart: Doc[]): Promise<Doc[]> {
      const kustomized = parseDocs(await kubectl(['kustomize', path.join(PACKAGE_ROOT, ...dirParts)]));
      expect(kustomized.map(key).sort()).to.deep.equal([...chart.map(key), 'Namespace/flex-auth'].sort());
      expect(find(kustomized, 'Namespace').metadata.name).to.equal(NAMESPACE);
      for (const doc of chart) expect(find(kustomized, doc.kind, doc.metadata.name), key(doc)).to.deep.equal(withoutHelm(doc));
      return kustomized;
    }

    it('kubectl kustomize deploy/ is the chart\'s default render (Helm\'s own labels aside) plus the Namespace, and is accepted', async () => {
      await dryRun(await expectKustomizeIsChart(['deploy'], defaults()), 'deploy/');
    });

    it('deploy/overlays/caller-identity is the chart with auth.tokenReview and networkPolicy, and is accepted', async () => {
      const kustomized = await expectKustomizeIsChart(['deploy', 'overlays', 'caller-identity'], renders.get('caller-identity-values.yaml')!);
      await dryRun(kustomized, 'deploy/overlays/caller-identity');
    });

    it('deploy/overlays/existing-configmap is the chart with registry.existingConfigMap, and is accepted', async () => {
      const kustomized = await expectKustomizeIsChart(['deploy', 'overlays', 'existing-configmap'], renders.get('existing-configmap-values.yaml')!);
      await dryRun(kustomized, 'deploy/overlays/existing-configmap');
    });
  });

  describe(`helm install into ${INSTALL_NAMESPACE}, and flex-auth serve as its ServiceAccount`, () => {
    let production: Doc;
    const saKubeconfig = () => path.join(dir, 'chart-sa.kubeconfig');
    const ready = () => getJson(server!.url, '/readyz');
    const servedRevision = (revision: string, timeoutMs = 30_000) =>
      pollUntil(ready, (r) => r.status === 200 && r.body?.revision === revision, `revision ${revision} in /readyz`, { timeoutMs, intervalMs: 200 });

    /** A kubeconfig that authenticates as system:serviceaccount:NS:flex-auth with a short-lived token. */
    async function serviceAccountKubeconfig(namespace: string, file: string): Promise<void> {
      const token = (await kubectl(['create', 'token', 'flex-auth', '-n', namespace, '--duration=1h'])).trim();
      const view = JSON.parse(await kubectl(['config', 'view', '--raw', '--minify', '-o', 'json'])) as Doc;
      const config = {
        apiVersion: 'v1', kind: 'Config', 'current-context': 'flex-auth',
        clusters: [{ name: 'target', cluster: view.clusters[0].cluster }],
        users: [{ name: 'flex-auth', user: { token } }],
        contexts: [{ name: 'flex-auth', context: { cluster: 'target', user: 'flex-auth', namespace } }],
      };
      await writeFile(file, JSON.stringify(config), { mode: 0o600 });
    }

    /** The installed Deployment's container args: what the pod would run. */
    async function deployedArgs(namespace: string): Promise<string[]> {
      const deployment = JSON.parse(await kubectl(['-n', namespace, 'get', 'deployment', 'flex-auth', '-o', 'json'])) as Doc;
      const args = deployment.spec.template.spec.containers[0].args as string[];
      expect(args[0]).to.equal('serve');
      return args.slice(1);
    }

    async function canI(namespace: string, ...args: string[]): Promise<string> {
      return (await run('kubectl', ['auth', 'can-i', ...args, '-n', namespace, `--as=system:serviceaccount:${namespace}:flex-auth`])).stdout.trim();
    }

    /**
     * `flex-auth configmap FILE --namespace NS | kubectl apply -f -`, then the deletion of the
     * parts that manifest leaves unused, as the sync runbook publishes.
     */
    async function publish(document: Doc, namespace: string): Promise<void> {
      const file = path.join(dir, `registry-${namespace}.json`);
      await writeFile(file, JSON.stringify(document, null, 2));
      const configmap = `"${process.execPath}" "${CLI}" configmap "${file}" --namespace "${namespace}"`;
      const cmd = `${configmap} | kubectl apply -f - && kubectl delete configmap -n "${namespace}" -l "$(${configmap} --prune-selector)"`;
      const result = await run('bash', ['-o', 'pipefail', '-c', cmd]);
      expect(result.code, result.stderr).to.equal(0);
    }

    before(() => {
      production = JSON.parse(readFileSync(CHART_REGISTRY, 'utf8')) as Doc;
    });

    it('installs: every rendered object exists, as helm template renders it', async () => {
      await helm(['install', 'flex-auth', CHART, '--namespace', INSTALL_NAMESPACE, '--create-namespace']);
      const status = JSON.parse(await helm(['status', 'flex-auth', '--namespace', INSTALL_NAMESPACE, '-o', 'json'])) as Doc;
      expect(status.info.status).to.equal('deployed');
      expect(status.version).to.equal(1);
      const manifest = parseDocs(await helm(['get', 'manifest', 'flex-auth', '--namespace', INSTALL_NAMESPACE]));
      expect(manifest).to.deep.equal(await render(undefined, INSTALL_NAMESPACE));
      for (const doc of manifest) {
        const live = JSON.parse(await kubectl(['-n', INSTALL_NAMESPACE, 'get', `${doc.kind}/${doc.metadata.name}`, '-o', 'json'])) as Doc;
        expect(live.metadata.annotations?.['meta.helm.sh/release-name'], key(doc)).to.equal('flex-auth');
        expect(live.metadata.labels, key(doc)).to.deep.include(doc.metadata.labels);
      }
      const configMap = JSON.parse(await kubectl(['-n', INSTALL_NAMESPACE, 'get', 'configmap', 'flex-auth-registry', '-o', 'json'])) as Doc;
      expect(configMap.data['registry.json']).to.equal(readFileSync(CHART_REGISTRY, 'utf8'));
    });

    it('its ServiceAccount may get, list and watch its ConfigMap and nothing else', async () => {
      const ns = INSTALL_NAMESPACE;
      expect(await canI(ns, 'get', 'configmap/flex-auth-registry')).to.equal('yes');
      expect(await canI(ns, 'list', 'configmap/flex-auth-registry')).to.equal('yes');
      expect(await canI(ns, 'watch', 'configmap/flex-auth-registry')).to.equal('yes');
      expect(await canI(ns, 'get', 'configmap/other')).to.equal('no');
      expect(await canI(ns, 'list', 'configmaps')).to.equal('no');
      expect(await canI(ns, 'get', 'configmap/flex-auth-registry-part-0')).to.equal('yes');
      expect(await canI(ns, 'get', `configmap/flex-auth-registry-part-${MAX_PARTS - 1}`)).to.equal('yes');
      expect(await canI(ns, 'get', `configmap/flex-auth-registry-part-${MAX_PARTS}`)).to.equal('no');
      expect(await canI(ns, 'watch', 'configmap/flex-auth-registry-part-0')).to.equal('no');
      expect(await canI(ns, 'update', 'configmap/flex-auth-registry-part-0')).to.equal('no');
      expect(await canI(ns, 'update', 'configmap/flex-auth-registry')).to.equal('no');
      expect(await canI(ns, 'patch', 'configmap/flex-auth-registry')).to.equal('no');
      expect(await canI(ns, 'delete', 'configmap/flex-auth-registry')).to.equal('no');
      expect(await canI(ns, 'get', 'secrets')).to.equal('no');
      expect(await canI(ns, 'list', 'pods')).to.equal('no');
      expect(await canI('default', 'get', 'configmap/flex-auth-registry')).to.equal('no');
    });

    it('flex-auth serve with the Deployment\'s args and the ServiceAccount\'s token becomes ready with the chart\'s registry revision', async () => {
      await serviceAccountKubeconfig(INSTALL_NAMESPACE, saKubeconfig());
      const args = await deployedArgs(INSTALL_NAMESPACE);
      expect(args).to.deep.equal(['--registry-configmap', `${INSTALL_NAMESPACE}/flex-auth-registry`]);
      server = await startServer(args, { env: { KUBECONFIG: saKubeconfig() } });
      // The expected revision is computed here, independently: sha256 of the canonical JSON of the chart's file.
      const status = await servedRevision(expectedRevision(production));
      expect(status.body).to.include({ ready: true, source: `configmap:${INSTALL_NAMESPACE}/flex-auth-registry`, last_error: null });
      expect((await postCheck(server.url, checkFor('agt-state-hub-bridge'))).body.allow).to.equal(true);
      const smoke = await run(process.execPath, [CLI, 'smoke', '--url', server.url]);
      expect(smoke.code, `${smoke.stdout}${smoke.stderr}`).to.equal(0);
    });

    it('picks up a kubectl apply of an updated ConfigMap, without a restart', async () => {
      const pid = server!.child.pid;
      production.actors.push({ name: 'agt-chart-added', type: 'agent', principals: ['agt-chart-added'], ttl: { default: '1h', max: '2h' }, allowed_subjects: ['agt-chart-added'] });
      await publish(production, INSTALL_NAMESPACE);
      await servedRevision(expectedRevision(production));
      expect((await postCheck(server!.url, checkFor('agt-chart-added'))).body.allow).to.equal(true);
      expect(server!.child.pid).to.equal(pid);
    });

    it('helm upgrade adds the ServiceMonitor, PrometheusRule and NetworkPolicy, and puts the chart\'s registry back', async () => {
      await helm(['upgrade', 'flex-auth', CHART, '--namespace', INSTALL_NAMESPACE, ...valuesArgs('monitoring-values.yaml'), ...valuesArgs('networkpolicy-values.yaml')]);
      const status = JSON.parse(await helm(['status', 'flex-auth', '--namespace', INSTALL_NAMESPACE, '-o', 'json'])) as Doc;
      expect(status.info.status).to.equal('deployed');
      expect(status.version).to.equal(2);
      for (const object of ['servicemonitor/flex-auth', 'prometheusrule/flex-auth', 'networkpolicy/flex-auth']) {
        await kubectl(['-n', INSTALL_NAMESPACE, 'get', object]);
      }
      const rule = JSON.parse(await kubectl(['-n', INSTALL_NAMESPACE, 'get', 'prometheusrule/flex-auth', '-o', 'json'])) as Doc;
      expect(rule.spec.groups).to.deep.equal((parseYaml(readFileSync(RULES, 'utf8')) as Doc).groups);
      // The chart owns flex-auth-registry: the upgrade replaces the published update with the
      // chart's document (why ops-warden should own it: registry.existingConfigMap).
      const original = JSON.parse(readFileSync(CHART_REGISTRY, 'utf8')) as Doc;
      await servedRevision(expectedRevision(original));
      expect((await postCheck(server!.url, checkFor('agt-chart-added'))).body.reason).to.equal('unknown_actor_resource');
    });

    it('hands the ConfigMap over to ops-warden without a gap: keep it, then upgrade to registry.existingConfigMap', async () => {
      // docs/deployment.md's migration: Helm skips deleting an object annotated resource-policy=keep.
      await kubectl(['-n', INSTALL_NAMESPACE, 'annotate', 'configmap', 'flex-auth-registry', 'helm.sh/resource-policy=keep']);
      await publish(production, INSTALL_NAMESPACE);
      await servedRevision(expectedRevision(production));
      await helm(['upgrade', 'flex-auth', CHART, '--namespace', INSTALL_NAMESPACE, '--reuse-values', '--set', 'registry.existingConfigMap=flex-auth-registry']);
      const manifest = parseDocs(await helm(['get', 'manifest', 'flex-auth', '--namespace', INSTALL_NAMESPACE]));
      expect(manifest.filter((d) => d.kind === 'ConfigMap')).to.deep.equal([]);
      expect(find(manifest, 'Role').rules).to.deep.equal(registryRules('flex-auth-registry'));
      const kept = JSON.parse(await kubectl(['-n', INSTALL_NAMESPACE, 'get', 'configmap', 'flex-auth-registry', '-o', 'json'])) as Doc;
      expect(JSON.parse(kept.data['registry.json'])).to.deep.equal(production);
      // flex-auth never lost its registry: same revision, no error, the published actor still allowed.
      const status = await ready();
      expect(status.body).to.include({ revision: expectedRevision(production), last_error: null });
      expect((await postCheck(server!.url, checkFor('agt-chart-added'))).body.allow).to.equal(true);
      // From now on a publish is ops-warden's alone, and an upgrade leaves it be.
      await helm(['upgrade', 'flex-auth', CHART, '--namespace', INSTALL_NAMESPACE, '--reuse-values', '--set', 'replicaCount=3']);
      expect((await ready()).body.revision).to.equal(expectedRevision(production));
    });

    it('helm uninstall removes every object it installed', async () => {
      await stopAll(server);
      server = undefined;
      const manifest = parseDocs(await helm(['get', 'manifest', 'flex-auth', '--namespace', INSTALL_NAMESPACE]));
      await helm(['uninstall', 'flex-auth', '--namespace', INSTALL_NAMESPACE]);
      for (const doc of manifest) {
        const result = await run('kubectl', ['-n', INSTALL_NAMESPACE, 'get', `${doc.kind}/${doc.metadata.name}`]);
        expect(result.code, key(doc)).not.to.equal(0);
        expect(result.stderr, key(doc)).to.match(/NotFound/);
      }
      // The handed-over registry is no longer the release's.
      await kubectl(['-n', INSTALL_NAMESPACE, 'get', 'configmap', 'flex-auth-registry']);
    });

    it('with registry.existingConfigMap: serves ops-warden\'s ConfigMap and never touches it', async () => {
      const ns = OWNED_NAMESPACE;
      const published = JSON.parse(readFileSync(PRODUCTION_REGISTRY, 'utf8')) as Doc;
      published.metadata = { ...published.metadata, name: 'ops-warden-published' };
      await kubectl(['create', 'namespace', ns]);
      await publish(published, ns);
      const before = JSON.parse(await kubectl(['-n', ns, 'get', 'configmap', 'flex-auth-registry', '-o', 'json'])) as Doc;

      await helm(['install', 'flex-auth', CHART, '--namespace', ns, ...valuesArgs('existing-configmap-values.yaml')]);
      const manifest = parseDocs(await helm(['get', 'manifest', 'flex-auth', '--namespace', ns]));
      expect(manifest.filter((d) => d.kind === 'ConfigMap')).to.deep.equal([]);
      expect(await canI(ns, 'watch', 'configmap/flex-auth-registry')).to.equal('yes');
      expect(await canI(ns, 'get', 'configmap/other')).to.equal('no');

      const kubeconfig = path.join(dir, 'owned-sa.kubeconfig');
      await serviceAccountKubeconfig(ns, kubeconfig);
      server = await startServer(await deployedArgs(ns), { env: { KUBECONFIG: kubeconfig } });
      await servedRevision(expectedRevision(published));
      await stopAll(server);
      server = undefined;

      await helm(['uninstall', 'flex-auth', '--namespace', ns]);
      const after = JSON.parse(await kubectl(['-n', ns, 'get', 'configmap', 'flex-auth-registry', '-o', 'json'])) as Doc;
      expect(after.metadata.resourceVersion).to.equal(before.metadata.resourceVersion);
      expect(after.metadata.annotations?.['meta.helm.sh/release-name']).to.equal(undefined);
      expect(after.data).to.deep.equal(before.data);
    });
  });
});
