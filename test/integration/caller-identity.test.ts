/**
 * Caller identity through a real `flex-auth serve` process over loopback, with the Kubernetes
 * API played by a protocol-level TokenReview fake (for the faults: no answer, 500, an answer
 * that is not a TokenReview, a status for another audience): who is admitted, refused 401,
 * 403 or 503, what the decision line names, the diagnostic port, and static tokens beside
 * TokenReview. The real API server is in test/k8s/caller-identity.test.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { EVALUATION, postAuthzen } from '../helpers/authzen.js';
import { checkFor } from '../helpers/documents.js';
import { FakeTokenReviewApi } from '../helpers/fake-token-review-api.js';
import type { ReviewFault } from '../helpers/fake-token-review-api.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCli, startServer, stopAll } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { getJson, postCheck } from '../helpers/http.js';
import { PRODUCTION_REGISTRY } from '../helpers/paths.js';

const OPS_WARDEN = 'system:serviceaccount:ops-warden:ops-warden';
const OTHER = 'system:serviceaccount:other:other';
const UNAUTHORIZED = { error: { code: 'unauthorized', message: 'missing or invalid bearer token', details: [] } };

describe('caller identity (--auth-tokenreview-audience, --diagnostic-port)', function () {
  this.timeout(60_000);
  let dir: string;
  let api: FakeTokenReviewApi;
  let server: ServerProcess | undefined;
  let diagnosticUrl: string;
  let staticToken: string;
  let tokenFile: string;
  const check = checkFor('agt-state-hub-bridge');
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    dir = await makeTempDir();
    api = new FakeTokenReviewApi();
    await api.start();
    await api.writeKubeconfig(path.join(dir, 'kubeconfig'));
    staticToken = randomBytes(24).toString('hex');
    tokenFile = path.join(dir, 'static-tokens');
    await writeFile(tokenFile, `${staticToken}\n`);
    server = await startServer([
      '--registry-file', PRODUCTION_REGISTRY, '--auth-token-file', tokenFile,
      '--auth-tokenreview-audience', 'flex-auth', '--allowed-callers', `${OPS_WARDEN},system:serviceaccount:tools:smoke`,
      '--auth-tokenreview-timeout-ms', '300', '--diagnostic-port', '0',
    ], { env: { KUBECONFIG: path.join(dir, 'kubeconfig') } });
    const listening = server.stdout.messages('listening')[0]!;
    diagnosticUrl = `http://127.0.0.1:${listening.diagnostic_port as number}`;
  });

  afterEach(() => api.setFault('none'));

  after(async () => {
    await stopAll(server);
    await api?.stop();
    await removeDir(dir);
  });

  /** The decision line of the check answered with this request id. */
  async function decisionLine(requestId: string): Promise<Record<string, any>> {
    return server!.stdout.waitForMessage('decision', { request_id: requestId });
  }

  it('admits an allowed ServiceAccount token and names the reviewed username in the decision line', async () => {
    const token = api.mint(OPS_WARDEN);
    const response = await postCheck(server!.url, check, { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'ops-warden-1' } });
    expect(response.status, response.text).to.equal(200);
    expect(response.body.allow).to.equal(true);
    expect((await decisionLine('ops-warden-1')).caller).to.equal(OPS_WARDEN);
    expect(api.askedAudiences.at(-1)).to.deep.equal(['flex-auth']);
  });

  it('names the reviewed caller on the AuthZEN routes too, and refuses there 403, 401 and 503 as on /v1/check', async () => {
    const token = api.mint(OPS_WARDEN);
    const body = { subject: { type: 'identity', id: 'agt-state-hub-bridge' }, action: { name: 'sign' }, resource: { type: 'ssh_actor', id: 'agt-state-hub-bridge' } };
    const response = await postAuthzen(server!.url, EVALUATION, body, { Authorization: `Bearer ${token}`, 'X-Request-Id': 'authzen-1' });
    expect(response.status, response.text).to.equal(200);
    expect((await decisionLine('authzen-1')).caller).to.equal(OPS_WARDEN);
    const refused = await postAuthzen(server!.url, EVALUATION, body, { Authorization: `Bearer ${api.mint(OTHER)}` });
    expect(refused.status, refused.text).to.equal(403);
    const invalid = await postAuthzen(server!.url, EVALUATION, body, { Authorization: `Bearer ${api.mint(OPS_WARDEN, { audiences: ['kubernetes'] })}` });
    expect(invalid.status, invalid.text).to.equal(401);
    api.setFault('error-500');
    const unverifiable = await postAuthzen(server!.url, EVALUATION, body, { Authorization: `Bearer ${api.mint(OPS_WARDEN)}` });
    expect(unverifiable.status, unverifiable.text).to.equal(503);
    expect(unverifiable.body.error.code).to.equal('auth_unavailable');
  });

  it('refuses 403, in the error shape, a valid token of a caller not on the list', async () => {
    const response = await postCheck(server!.url, check, bearer(api.mint(OTHER)));
    expect(response.status).to.equal(403);
    expect(response.headers.get('www-authenticate')).to.equal(null);
    expect(response.body).to.deep.equal({ error: { code: 'forbidden', message: 'the caller is not allowed to ask flex-auth for decisions', details: [] } });
  });

  it('refuses 401 with a challenge: no token, an unknown one, one for another audience, an expired one, one that is not a JWT', async () => {
    const attempts = {
      none: {},
      unknown: bearer(`${api.mint(OPS_WARDEN).slice(0, -4)}AAAA`).headers,
      'other audience': bearer(api.mint(OPS_WARDEN, { audiences: ['kubernetes'] })).headers,
      expired: bearer(api.mint(OPS_WARDEN, { expiresInSeconds: -5 })).headers,
      'not a JWT': bearer(randomBytes(24).toString('hex')).headers,
    };
    const reviewed = api.reviewed.length;
    for (const [name, headers] of Object.entries(attempts)) {
      const response = await postCheck(server!.url, check, { headers });
      expect(response.status, name).to.equal(401);
      expect(response.headers.get('www-authenticate'), name).to.equal('Bearer realm="flex-auth"');
      expect(response.body, name).to.deep.equal(UNAUTHORIZED);
    }
    // Neither the missing token nor the one that is not a JWT was worth asking about.
    expect(api.reviewed.length - reviewed).to.equal(3);
  });

  it('refuses 401 a token the API server authenticates for an audience other than the one asked for', async () => {
    api.setFault('wrong-audience');
    const response = await postCheck(server!.url, check, bearer(api.mint(OPS_WARDEN)));
    expect(response.status).to.equal(401);
  });

  const tokenReview = (status: unknown) => JSON.stringify({ kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', status });
  const NOT_A_TOKENREVIEW = 'the answer is not a TokenReview (authentication.k8s.io/v1)';
  const faults: [string, ReviewFault, string][] = [
    ['slow', 'slow', 'no answer within the deadline'],
    ['slow to finish its body', 'slow-body', 'no answer within the deadline'],
    ['answering 500', 'error-500', 'the API server answered 500'],
    ['answering a body that is not JSON', 'not-json', 'the answer is not JSON'],
    ['authenticating without a username', 'bad-status', 'an authenticated status has no user.username'],
    // Each of these the client library's deserializer would have rebuilt into an empty status object: a 401, not a 503.
    ['answering a Status with 200', { status: 200, body: () => JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Success', code: 200 }) }, NOT_A_TOKENREVIEW],
    ['answering a TokenReview of another version', { status: 201, body: () => JSON.stringify({ kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1beta1', status: {} }) }, NOT_A_TOKENREVIEW],
    ['answering status "garbage"', { status: 201, body: () => tokenReview('garbage') }, 'status is not an object'],
    ['answering status 42', { status: 201, body: () => tokenReview(42) }, 'status is not an object'],
    ['answering status []', { status: 201, body: () => tokenReview([]) }, 'status is not an object'],
    ['answering status true', { status: 201, body: () => tokenReview(true) }, 'status is not an object'],
    ['answering audiences as a string', { status: 201, body: () => tokenReview({ authenticated: true, user: { username: OPS_WARDEN }, audiences: 'flex-auth' }) }, 'status.audiences is not a list of strings'],
    ['answering authenticated as a string', { status: 201, body: () => tokenReview({ authenticated: 'true', user: { username: OPS_WARDEN }, audiences: ['flex-auth'] }) }, 'status.authenticated is not a boolean'],
  ];
  for (const [name, fault, reason] of faults) {
    it(`answers 503 auth_unavailable for an uncached token when the API server is ${name}, and keeps serving cached ones`, async () => {
      const cached = api.mint(OPS_WARDEN);
      expect((await postCheck(server!.url, check, bearer(cached))).status).to.equal(200);
      api.setFault(fault);
      const fresh = api.mint(OPS_WARDEN);
      const since = server!.stdout.lines.length;
      const response = await postCheck(server!.url, check, bearer(fresh));
      expect(response.status, response.text).to.equal(503);
      expect(response.body).to.deep.equal({
        error: { code: 'auth_unavailable', message: 'the bearer token cannot be verified now (the Kubernetes API server did not answer); try again', details: [] },
      });
      expect(api.reviewsOf(fresh)).to.equal(1);
      await server!.stdout.waitForMessage('TokenReview failed: refusing callers whose tokens are not cached (503 auth_unavailable)', { reason }, { since });
      const again = await postCheck(server!.url, check, bearer(cached));
      expect(again.status).to.equal(200);
      expect(api.reviewsOf(cached)).to.equal(1);
      // Not cached: once the API server answers, the same token is reviewed again and admitted.
      api.setFault('none');
      expect((await postCheck(server!.url, check, bearer(fresh))).status).to.equal(200);
      expect(api.reviewsOf(fresh)).to.equal(2);
    });
  }

  it('refuses 503 an answer that is not JSON and starts with the token, and logs no part of the token', async () => {
    api.setFault({ status: 201, body: (token) => `${token} was not expected here` });
    const token = api.mint(OPS_WARDEN);
    const since = server!.stdout.lines.length;
    const response = await postCheck(server!.url, check, bearer(token));
    expect(response.status, response.text).to.equal(503);
    await server!.stdout.waitForMessage('TokenReview failed: refusing callers whose tokens are not cached (503 auth_unavailable)', { reason: 'the answer is not JSON' }, { since });
    api.setFault('none');
    expect((await postCheck(server!.url, check, bearer(token))).status).to.equal(200);
    const output = [...server!.stdout.lines, ...server!.stderr.lines].map((line) => line.raw).join('\n');
    // Node's JSON.parse error quotes the first characters of what it could not parse: none of them may show.
    for (let at = 0; at + 8 <= token.length; at += 1) expect(output, `token characters ${at}-${at + 8}`).not.to.include(token.slice(at, at + 8));
  });

  it('admits a static token beside TokenReview, without asking the API server, and names it by its fingerprint', async () => {
    const before = api.reviewed.length;
    const response = await postCheck(server!.url, check, { headers: { authorization: `Bearer ${staticToken}`, 'x-request-id': 'static-1' } });
    expect(response.status).to.equal(200);
    expect(api.reviewed.length).to.equal(before);
    expect((await decisionLine('static-1')).caller).to.equal(`token:${createHash('sha256').update(staticToken).digest('hex').slice(0, 8)}`);
  });

  it('serves /healthz, /readyz and /metrics on the diagnostic port only; the main port answers them 404, saying where they are', async () => {
    for (const route of ['/healthz', '/readyz', '/metrics']) {
      expect((await getJson(diagnosticUrl, route)).status, route).to.equal(200);
      const main = await getJson(server!.url, route);
      expect(main.status, route).to.equal(404);
      expect(main.body, route).to.deep.equal({
        error: { code: 'not_found', message: `no route for GET ${route}: served on the diagnostic port (--diagnostic-port)`, details: [] },
      });
    }
    // Any other unknown path is a plain 404, on either port.
    expect((await getJson(server!.url, '/healthz/')).body.error.message).to.equal('no route for GET /healthz/');
    expect((await getJson(diagnosticUrl, '/nowhere')).body.error.message).to.equal('no route for GET /nowhere');
    const checkThere = await postCheck(diagnosticUrl, check, bearer(staticToken));
    expect(checkThere.status).to.equal(404);
    expect((await getJson(diagnosticUrl, '/v1/registry')).status).to.equal(404);
    expect((await getJson(server!.url, '/v1/registry')).status).to.equal(200);
  });

  it('counts authentication results by method and outcome', async () => {
    const text = (await getJson(diagnosticUrl, '/metrics')).text;
    const count = (method: string, outcome: string) => Number(new RegExp(`^flex_auth_auth_results_total\\{method="${method}",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    expect(count('tokenreview', 'allowed')).to.be.greaterThan(0);
    expect(count('tokenreview', 'forbidden')).to.be.greaterThan(0);
    expect(count('tokenreview', 'unauthenticated')).to.be.greaterThan(0);
    expect(count('tokenreview', 'unavailable')).to.be.greaterThan(0);
    expect(count('static', 'allowed')).to.be.greaterThan(0);
    expect(text).to.match(/^# TYPE flex_auth_auth_results_total counter$/m);
  });

  it('lets smoke pass with a projected token file it re-reads for every call, rotated mid-run', async () => {
    const projected = path.join(dir, 'projected-token');
    const first = api.mint('system:serviceaccount:tools:smoke');
    const second = api.mint('system:serviceaccount:tools:smoke');
    await writeFile(projected, first);
    // The kubelet rotates the token (with a rename) while smoke runs: just as the first one is reviewed.
    api.onReview = async (token) => {
      if (token !== first) return;
      await writeFile(`${projected}.new`, second);
      await rename(`${projected}.new`, projected);
    };
    try {
      const result = await runCli(['smoke', '--url', server!.url, '--diagnostic-url', diagnosticUrl, '--token-file', projected]);
      expect(result.code, result.stdout + result.stderr).to.equal(0);
    } finally {
      api.onReview = undefined;
    }
    expect(api.reviewsOf(first)).to.equal(1);
    expect(api.reviewsOf(second)).to.equal(1);
  });

  it('never writes a token to its output', () => {
    const output = [...server!.stdout.lines, ...server!.stderr.lines].map((line) => line.raw).join('\n');
    expect(api.reviewed.length).to.be.greaterThan(5);
    for (const token of [...new Set(api.reviewed), staticToken]) {
      expect(output).not.to.include(token);
      // Nor any of its three parts (a signature alone would do to replay nothing, but a payload names the caller's claims).
      expect(output).not.to.include(token.split('.').at(-1)!);
    }
    expect(server!.stdout.messages('TokenReview failed: refusing callers whose tokens are not cached (503 auth_unavailable)').length).to.be.greaterThan(0);
  });

  it('with the token file emptied, refuses static tokens, still admits TokenReview callers, and logs just that', async () => {
    const since = server!.stdout.mark();
    await writeFile(`${tokenFile}.new`, '# revoked\n');
    await rename(`${tokenFile}.new`, tokenFile);
    const warning = await server!.stdout.waitForMessage('auth token file has no tokens: static tokens are refused; callers proven by TokenReview are still admitted', {}, { since });
    expect(warning.level).to.equal('warn');
    expect(server!.stdout.messages('auth token file has no tokens: every check will be refused')).to.deep.equal([]);
    expect((await postCheck(server!.url, check, bearer(staticToken))).status).to.equal(401);
    expect((await postCheck(server!.url, check, bearer(api.mint(OPS_WARDEN)))).status).to.equal(200);
  });

  it('closes both ports on SIGTERM', async () => {
    const exit = await server!.stop('SIGTERM');
    expect(exit.code).to.equal(0);
    for (const url of [server!.url, diagnosticUrl]) {
      const refused = await fetch(`${url}/healthz`).then(() => 'answered', (error: Error) => String((error.cause as { code?: string } | undefined)?.code));
      expect(refused, url).to.equal('ECONNREFUSED');
    }
    server = undefined;
  });
});

describe('caller identity settings', function () {
  this.timeout(30_000);
  let dir: string;
  before(async () => {
    dir = await makeTempDir();
  });
  after(() => removeDir(dir));

  const serve = (args: string[], env: Record<string, string> = {}) =>
    runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--registry-file', PRODUCTION_REGISTRY, ...args], { env: { HOME: dir, ...env } });

  it('refuses contradictory or malformed settings with a usage error naming the setting, and does not start', async () => {
    const cases: [string[], Record<string, string>, string][] = [
      [['--allowed-callers', OPS_WARDEN], {}, '--allowed-callers needs --auth-tokenreview-audience'],
      [['--auth-tokenreview-audience', 'flex-auth'], {}, '--auth-tokenreview-audience needs --allowed-callers USER,...'],
      [[], { FLEX_AUTH_AUTH_TOKENREVIEW_AUDIENCE: 'flex-auth' }, 'FLEX_AUTH_AUTH_TOKENREVIEW_AUDIENCE needs --allowed-callers'],
      [['--auth-tokenreview-audience', 'a,b', '--allowed-callers', OPS_WARDEN], {}, '--auth-tokenreview-audience must be one audience'],
      [['--auth-tokenreview-audience', 'flex-auth', '--allowed-callers', ' , '], {}, '--allowed-callers must name at least one caller'],
      [['--auth-tokenreview-audience', 'flex-auth', '--allowed-callers', OPS_WARDEN, '--auth-cache-ttl', '90s'], {}, '--auth-cache-ttl must be a duration from 1s to 60s (got 90s)'],
      [['--auth-tokenreview-audience', 'flex-auth', '--allowed-callers', OPS_WARDEN, '--auth-tokenreview-timeout-ms', '0'], {}, '--auth-tokenreview-timeout-ms must be a whole number of milliseconds from 1 to 60000 (got 0)'],
      // Without the audience TokenReview is off: a deadline or cache TTL then means the operator missed a flag.
      [['--auth-tokenreview-timeout-ms', '500'], {}, '--auth-tokenreview-timeout-ms needs --auth-tokenreview-audience'],
      [['--auth-cache-ttl', '30s'], {}, '--auth-cache-ttl needs --auth-tokenreview-audience'],
      [['--auth-token-file', 'tokens', '--auth-cache-ttl', '30s'], {}, '--auth-cache-ttl needs --auth-tokenreview-audience'],
      [[], { FLEX_AUTH_AUTH_TOKENREVIEW_TIMEOUT_MS: '500' }, 'FLEX_AUTH_AUTH_TOKENREVIEW_TIMEOUT_MS needs --auth-tokenreview-audience'],
      [[], { FLEX_AUTH_AUTH_CACHE_TTL: '30s' }, 'FLEX_AUTH_AUTH_CACHE_TTL needs --auth-tokenreview-audience'],
      [['--auth-cache-ttl', '90s'], {}, '--auth-cache-ttl must be a duration from 1s to 60s (got 90s)'],
      [['--auth-tokenreview-timeout-ms', 'soon'], {}, '--auth-tokenreview-timeout-ms must be a whole number of milliseconds from 1 to 60000 (got soon)'],
      [['--port', '8080', '--diagnostic-port', '8080'], {}, '--diagnostic-port must differ from the main port (8080)'],
      [[], { FLEX_AUTH_DIAGNOSTIC_PORT: 'x' }, 'FLEX_AUTH_DIAGNOSTIC_PORT must be a whole number from 0 to 65535 (got x)'],
    ];
    for (const [args, env, message] of cases) {
      const result = await serve(args, env);
      expect(result.code, args.join(' ')).to.equal(2);
      expect(result.stderr, args.join(' ')).to.include(message);
      expect(result.stdout, args.join(' ')).not.to.include('"msg":"listening"');
    }
  });

  it('does not start with TokenReview but no Kubernetes credentials, and says so', async () => {
    const result = await serve(['--auth-tokenreview-audience', 'flex-auth', '--allowed-callers', OPS_WARDEN], { KUBECONFIG: '' });
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include('no Kubernetes credentials: set KUBECONFIG, or run in a pod with a service account token');
  });
});
