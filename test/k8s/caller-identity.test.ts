import { createPrivateKey, createSign } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { checkFor } from '../helpers/documents.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { startServer, stopAll } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { postCheck } from '../helpers/http.js';
import { kubectl, writeServiceAccountKubeconfig } from '../helpers/kube.js';
import { PACKAGE_ROOT, PRODUCTION_REGISTRY } from '../helpers/paths.js';
import { pollUntil } from '../helpers/poll.js';
import { runCommand as run } from '../helpers/process.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * Caller identity against a real kube-apiserver (scripts/k8s-test-env.sh run, as `npm run
 * test:k8s` does): `flex-auth serve` verifies callers' ServiceAccount tokens, made with the real
 * `kubectl create token`, through the TokenReview API, as its own ServiceAccount with exactly
 * the RBAC the chart grants. The API server goes away through a TCP proxy the test cuts (the
 * server itself is shared with the other suites). An expired token is a real one re-signed, with
 * only its times moved into the past, with the harness's service-account signing key: the API
 * server will not issue a token shorter than 10 minutes, and its clock is not ours to move.
 */

const AUDIENCE = 'flex-auth';
/** flex-auth's own namespace here (the configmap-source suite creates the contract's `flex-auth`). */
const NAMESPACE = process.env.FLEX_AUTH_IDENTITY_TEST_NAMESPACE ?? 'flex-auth-identity';
const OPS_WARDEN = 'system:serviceaccount:ops-warden:ops-warden';
const FLEX_AUTH_SA = `system:serviceaccount:${NAMESPACE}:flex-auth`;
const CHART = path.join(PACKAGE_ROOT, 'charts', 'flex-auth');
const harnessDir = process.env.K8S_TEST_ENV_DIR;

type Doc = Record<string, any>;

const bearer = (token: string, requestId?: string) => ({ headers: { authorization: `Bearer ${token}`, ...(requestId ? { 'x-request-id': requestId } : {}) } });

async function createToken(namespace: string, name: string, audience?: string): Promise<string> {
  return (await kubectl(['-n', namespace, 'create', 'token', name, ...(audience ? ['--audience', audience] : [])])).trim();
}

/** What `kubectl auth can-i --list` says the ServiceAccount may do in `namespace`, one rule a line. */
async function rulesOf(user: string, namespace: string): Promise<string[]> {
  const listed = await kubectl(['auth', 'can-i', '--list', `--as=${user}`, '-n', namespace]);
  return listed.split('\n').slice(1).map((line) => line.trim().replace(/\s+/g, ' ')).filter(Boolean).sort();
}

/** The token with its times moved: issued 2 h ago and expired `secondsAgo` ago, re-signed with the issuer's key. */
async function expiredCopy(token: string, secondsAgo: number): Promise<string> {
  if (!harnessDir) throw new Error('the expired-token case signs with the harness\'s service-account key: run `npm run test:k8s`');
  const [header, payload] = token.split('.') as [string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Doc;
  const now = Math.floor(Date.now() / 1000);
  const moved = { ...claims, iat: now - 7200, nbf: now - 7200, exp: now - secondsAgo };
  const signingInput = `${header}.${Buffer.from(JSON.stringify(moved)).toString('base64url')}`;
  const key = createPrivateKey(await readFile(path.join(harnessDir, 'pki', 'sa.key')));
  return `${signingInput}.${createSign('RSA-SHA256').update(signingInput).sign(key).toString('base64url')}`;
}

describe('caller identity against a real Kubernetes API server', function () {
  this.timeout(180_000);
  let dir: string;
  let proxy: TcpProxy;
  let server: ServerProcess | undefined;
  let rbac: Doc[];
  let rulesBefore: { here: string[]; elsewhere: string[] };

  before(async () => {
    if (!process.env.KUBECONFIG) throw new Error('KUBECONFIG is not set: run `npm run test:k8s`, or point KUBECONFIG at a cluster');
    for (const ns of [NAMESPACE, 'ops-warden', 'other']) {
      if ((await run('kubectl', ['get', 'namespace', ns])).code === 0) throw new Error(`namespace ${ns} already exists; this suite needs a cluster without it`);
    }
    dir = await makeTempDir('flex-auth-identity-');
    for (const [ns, sa] of [['ops-warden', 'ops-warden'], ['other', 'other'], [NAMESPACE, 'flex-auth']] as const) {
      await kubectl(['create', 'namespace', ns]);
      await kubectl(['-n', ns, 'create', 'serviceaccount', sa]);
    }
    // flex-auth's RBAC as the chart renders it with caller identity on: its Role, then the ClusterRole for tokenreviews.
    const helmBin = (await run('bash', [path.join(PACKAGE_ROOT, 'scripts', 'helm.sh'), 'path'], { timeoutMs: 3_650_000 })).stdout.trim();
    const helmEnv = { HELM_CACHE_HOME: path.join(dir, 'helm-cache'), HELM_CONFIG_HOME: path.join(dir, 'helm-config'), HELM_DATA_HOME: path.join(dir, 'helm-data') };
    const rendered = await run(helmBin, ['template', 'flex-auth', CHART, '--namespace', NAMESPACE, '-f', path.join(CHART, 'ci', 'caller-identity-values.yaml')], { env: helmEnv, timeoutMs: 120_000 });
    if (rendered.code !== 0) throw new Error(`helm template failed: ${rendered.stderr}`);
    rbac = parseAllDocuments(rendered.stdout).map((doc) => doc.toJS() as Doc).filter((doc) => /^(Cluster)?Role(Binding)?$/.test(doc?.kind ?? ''));
    expect(rbac.map((doc) => doc.kind).sort()).to.deep.equal(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
    await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac.filter((doc) => !doc.kind.startsWith('Cluster')) }));
    rulesBefore = { here: await rulesOf(FLEX_AUTH_SA, NAMESPACE), elsewhere: await rulesOf(FLEX_AUTH_SA, 'default') };
    await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac.filter((doc) => doc.kind.startsWith('Cluster')) }));

    // flex-auth reaches the API server only through a proxy this suite can cut.
    const kubeconfigFile = path.join(dir, 'flex-auth.kubeconfig');
    await writeServiceAccountKubeconfig(NAMESPACE, 'flex-auth', kubeconfigFile);
    const kubeconfig = JSON.parse(await readFile(kubeconfigFile, 'utf8')) as Doc;
    const api = new URL(kubeconfig.clusters[0].cluster.server as string);
    proxy = new TcpProxy(api.hostname, Number(api.port || 443));
    await proxy.start();
    kubeconfig.clusters[0].cluster.server = `https://${proxy.address}`;
    await writeFile(kubeconfigFile, JSON.stringify(kubeconfig), { mode: 0o600 });

    server = await startServer([
      '--registry-file', PRODUCTION_REGISTRY,
      '--auth-tokenreview-audience', AUDIENCE, '--allowed-callers', OPS_WARDEN,
      // Short, so that the cache's end is seen within the test; each review gets 1 s.
      '--auth-cache-ttl', '5s', '--auth-tokenreview-timeout-ms', '1000',
    ], { env: { KUBECONFIG: kubeconfigFile } });
  });

  after(async () => {
    await stopAll(server);
    await proxy?.stop();
    if (!harnessDir && rbac) {
      await run('kubectl', ['delete', 'clusterrole,clusterrolebinding', `flex-auth-tokenreviewer-${NAMESPACE}`]);
      for (const ns of [NAMESPACE, 'ops-warden', 'other']) await run('kubectl', ['delete', 'namespace', ns, '--wait=false']);
    }
    await removeDir(dir);
  });

  const check = checkFor('agt-state-hub-bridge');

  it('flex-auth\'s ServiceAccount may create tokenreviews, and nothing else more than before', async () => {
    const canI = async (...args: string[]) => (await run('kubectl', ['auth', 'can-i', ...args, `--as=${FLEX_AUTH_SA}`])).stdout.trim();
    expect(await canI('create', 'tokenreviews.authentication.k8s.io')).to.equal('yes');
    for (const denied of [['create', 'subjectaccessreviews.authorization.k8s.io'], ['get', 'tokenreviews.authentication.k8s.io'], ['create', 'serviceaccounts/token', '-n', 'ops-warden'], ['get', 'secrets', '-n', NAMESPACE], ['list', 'configmaps', '-n', NAMESPACE]]) {
      expect(await canI(...denied), denied.join(' ')).to.equal('no');
    }
    const tokenReviews = 'tokenreviews.authentication.k8s.io [] [] [create]';
    expect(rulesBefore.here).not.to.include(tokenReviews);
    expect(await rulesOf(FLEX_AUTH_SA, NAMESPACE)).to.deep.equal([...rulesBefore.here, tokenReviews].sort());
    expect(await rulesOf(FLEX_AUTH_SA, 'default')).to.deep.equal([...rulesBefore.elsewhere, tokenReviews].sort());
  });

  it('admits ops-warden\'s token for the audience and names it in the decision line', async () => {
    const response = await postCheck(server!.url, check, bearer(await createToken('ops-warden', 'ops-warden', AUDIENCE), 'k8s-ops-warden-1'));
    expect(response.status, response.text).to.equal(200);
    expect(response.body.allow).to.equal(true);
    const line = await server!.stdout.waitForMessage('decision', { request_id: 'k8s-ops-warden-1' });
    expect(line.caller).to.equal(OPS_WARDEN);
  });

  it('refuses 401 ops-warden\'s token without the audience', async () => {
    const response = await postCheck(server!.url, check, bearer(await createToken('ops-warden', 'ops-warden')));
    expect(response.status, response.text).to.equal(401);
    expect(response.headers.get('www-authenticate')).to.equal('Bearer realm="flex-auth"');
  });

  it('refuses 403 another ServiceAccount\'s token for the audience', async () => {
    const response = await postCheck(server!.url, check, bearer(await createToken('other', 'other', AUDIENCE)));
    expect(response.status, response.text).to.equal(403);
    expect(response.body.error.code).to.equal('forbidden');
  });

  it('refuses 401 a token past its expiry, and admits the same token re-signed with a future expiry', async () => {
    const token = await createToken('ops-warden', 'ops-warden', AUDIENCE);
    // Past the API server's 60 s of leeway for clock skew.
    const expired = await postCheck(server!.url, check, bearer(await expiredCopy(token, 120)));
    expect(expired.status, expired.text).to.equal(401);
    // The control: only the times differ, so the refusal is the expiry's.
    const valid = await postCheck(server!.url, check, bearer(await expiredCopy(token, -600)));
    expect(valid.status, valid.text).to.equal(200);
  });

  it('with the API server cut off: a cached token works until its cache entry ends, an uncached one gets 503', async () => {
    const cached = await createToken('ops-warden', 'ops-warden', AUDIENCE);
    const uncached = await createToken('ops-warden', 'ops-warden', AUDIENCE);
    expect((await postCheck(server!.url, check, bearer(cached))).status).to.equal(200);
    proxy.cutOff();
    try {
      // Within the 5 s the entry lives, from the moment the review answered (checked again just after the cut).
      const stillCached = await postCheck(server!.url, check, bearer(cached));
      const refused = await postCheck(server!.url, check, bearer(uncached));
      expect(refused.status, refused.text).to.equal(503);
      expect(refused.body.error.code).to.equal('auth_unavailable');
      expect(stillCached.status, stillCached.text).to.equal(200);
      // Once the entry ends, the cached token is refused too: fail closed.
      const ended = await pollUntil(() => postCheck(server!.url, check, bearer(cached)), (r) => r.status !== 200, 'the cached token to be refused', { timeoutMs: 20_000, intervalMs: 250 });
      expect(ended.status).to.equal(503);
    } finally {
      proxy.restore();
    }
    // The API server back: both are reviewed and admitted again.
    for (const token of [cached, uncached]) {
      const back = await pollUntil(() => postCheck(server!.url, check, bearer(token)), (r) => r.status === 200, 'admitted again', { timeoutMs: 20_000, intervalMs: 250 });
      expect(back.status).to.equal(200);
    }
  });

  it('never writes a token to its output', async () => {
    const output = [...server!.stdout.lines, ...server!.stderr.lines].map((line) => line.raw).join('\n');
    // A fresh token of each kind shares its header with those used above, but never its signature.
    expect(output).not.to.match(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}\./);
    expect(server!.stdout.messages('TokenReview failed: refusing callers whose tokens are not cached (503 auth_unavailable)')).to.have.length.greaterThan(0);
  });
});
