#!/usr/bin/env node
/**
 * What caller identity costs /v1/check: throughput of the real app (createApp, over loopback
 * HTTP) in three variants, each a child process of its own:
 *
 *   none         no caller authentication (v1's default)
 *   static       --auth-token-file: one static bearer token
 *   tokenreview  --auth-tokenreview-audience with a warm cache: the real TokenReview
 *                authenticator and Kubernetes client, asking a protocol fake of the API server
 *                (test/helpers/fake-token-review-api.ts, in this process) about a JWT-shaped
 *                ServiceAccount token; after the first review every check is a cache hit
 *
 * Every variant loads the Kubernetes client, as flex-auth does wherever it runs in a cluster
 * (the ConfigMap source uses it): otherwise `tokenreview` alone would pay for the client's place
 * in the heap (a larger heap, longer garbage collections), which is not the cost of TokenReview.
 *
 *   npm run build && npm ci --prefix bench     (autocannon is a dependency of bench/package.json)
 *   node bench/auth-overhead.mjs [--rounds 8] [--duration 3] [--warmup 3] [--connections 10] [--server-cpu N]
 *
 * Rounds rotate the order of the variants, so drift and noise from other work on the machine
 * fall on all alike. Requests cycle through examples/requests/*.json, every one with the
 * variant's Authorization header. The decision log is discarded, which makes the share of
 * authentication in the remaining work, and so the measured cost, larger, not smaller. Prints
 * per round requests/s and the server process's CPU time per request (far less sensitive to
 * other load), then the medians and the ratios to `none`, and how many reviews the fake API
 * server answered (a warm cache: one per token per cache lifetime). Not part of `npm test`; the
 * figures are in docs/performance.md, "Caller identity: what TokenReview costs".
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { importAutocannon, startBenchChild } from './lib/proc.mjs';
import { median } from './lib/stats.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = path.join(ROOT, 'dist');
const REGISTRY = path.join(ROOT, 'examples', 'ops-warden', 'production_registry_snapshot.json');
const REQUESTS = path.join(ROOT, 'examples', 'requests');
const VARIANTS = ['none', 'static', 'tokenreview'];
const OPS_WARDEN = 'system:serviceaccount:ops-warden:ops-warden';

// ---------------------------------------------------------------------------------------------
// Child: one app.

async function serve(variant, apiUrl) {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { createApp } = await import(path.join(DIST, 'src', 'http', 'app.js'));
  const { BearerTokens } = await import(path.join(DIST, 'src', 'http', 'auth.js'));
  const { createLogger } = await import(path.join(DIST, 'src', 'logger.js'));
  const { Metrics } = await import(path.join(DIST, 'src', 'metrics.js'));
  const { RegistryStore } = await import(path.join(DIST, 'src', 'registry', 'store.js'));
  const logger = createLogger({ destination: { write() {} } });
  const store = new RegistryStore({ kind: 'embedded', name: 'embedded:bench' });
  if (store.apply(readFileSync(REGISTRY, 'utf8')) !== 'loaded') throw new Error('registry did not load');

  let token;
  let auth = {};
  if (variant === 'static') {
    token = randomBytes(24).toString('hex');
    const tokens = BearerTokens.parse(token);
    auth = { tokens: () => tokens };
  } else if (variant === 'tokenreview') {
    const { TokenReviewAuthenticator, kubeTokenReview } = await import(path.join(DIST, 'src', 'kube-token-review.js'));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'fake', server: apiUrl, skipTLSVerify: true }],
      users: [{ name: 'fake', token: 'flex-auth-reviewer' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    auth = { authenticator: new TokenReviewAuthenticator({ audience: 'flex-auth', allowedCallers: [OPS_WARDEN], review: kubeTokenReview('flex-auth', 2000, kubeConfig), logger }) };
  }
  const server = createServer(createApp({ store, metrics: new Metrics('embedded'), logger, isDraining: () => false, ...auth }));
  server.keepAliveTimeout = 5_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.on('message', (message) => process.send(message === 'token' ? { token } : process.cpuUsage()));
  process.on('disconnect', () => process.exit(0));
  process.send({ port: server.address().port });
}

// ---------------------------------------------------------------------------------------------
// Parent: the load.

function startChild(variant, apiUrl, serverCpu) {
  return startBenchChild(fileURLToPath(import.meta.url), ['--serve', variant, '--api', apiUrl], variant, serverCpu);
}

async function main() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '8' },
      duration: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '10' },
      'server-cpu': { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  const duration = Number(values.duration);
  const warmup = Number(values.warmup);
  const connections = Number(values.connections);
  const autocannon = await importAutocannon();
  const bodies = readdirSync(REQUESTS).filter((f) => f.endsWith('.json')).sort().map((f) => readFileSync(path.join(REQUESTS, f), 'utf8'));

  const { FakeTokenReviewApi } = await import(path.join(DIST, 'test', 'helpers', 'fake-token-review-api.js'));
  const api = new FakeTokenReviewApi();
  await api.start();
  const servers = {};
  try {
    for (const variant of VARIANTS) servers[variant] = await startChild(variant, api.url, values['server-cpu']);
    const ask = (variant, message) => new Promise((resolve) => {
      servers[variant].child.once('message', resolve);
      servers[variant].child.send(message);
    });
    // Each variant's token: the static one the child made, a ServiceAccount token from the fake API server.
    const tokens = { none: undefined, static: (await ask('static', 'token')).token, tokenreview: api.mint(OPS_WARDEN) };
    const run = async (variant, seconds) => {
      const { port, cpu } = servers[variant];
      const headers = { 'content-type': 'application/json', ...(tokens[variant] ? { authorization: `Bearer ${tokens[variant]}` } : {}) };
      const requests = bodies.map((body) => ({ method: 'POST', path: '/v1/check', headers, body }));
      const cpuBefore = await cpu();
      const result = await autocannon({ url: `http://127.0.0.1:${port}`, connections, duration: seconds, requests });
      const cpuUsed = (await cpu()) - cpuBefore;
      if (result.errors || result.timeouts || result.non2xx) {
        throw new Error(`${variant}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers`);
      }
      return { rps: result.requests.average, cpuPerRequest: cpuUsed / result.requests.total, total: result.requests.total };
    };

    console.log(`node ${process.version}, ${bodies.length} request kinds, ${connections} connections, ${rounds} rounds x ${duration} s per variant (rotated), warm-up ${warmup} s each`);
    for (const variant of VARIANTS) await run(variant, warmup);
    const rps = Object.fromEntries(VARIANTS.map((v) => [v, []]));
    const cpuPer = Object.fromEntries(VARIANTS.map((v) => [v, []]));
    const pairedRps = { static: [], tokenreview: [] };
    const pairedCpu = { static: [], tokenreview: [] };
    let checks = 0;
    for (let round = 1; round <= rounds; round += 1) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
      const got = {};
      for (const variant of order) got[variant] = await run(variant, duration);
      for (const variant of VARIANTS) {
        rps[variant].push(got[variant].rps);
        cpuPer[variant].push(got[variant].cpuPerRequest);
        checks += variant === 'tokenreview' ? got[variant].total : 0;
      }
      for (const variant of ['static', 'tokenreview']) {
        pairedRps[variant].push(got[variant].rps / got.none.rps);
        pairedCpu[variant].push(got[variant].cpuPerRequest / got.none.cpuPerRequest);
      }
      console.log(`round ${round} (${order.join(', ')}): ${VARIANTS.map((v) => `${v} ${got[v].rps.toFixed(0)} req/s ${got[v].cpuPerRequest.toFixed(1)} us CPU/req`).join('; ')}`);
    }
    for (const variant of VARIANTS) {
      console.log(`median ${variant.padEnd(11)}: ${median(rps[variant]).toFixed(0)} req/s, ${median(cpuPer[variant]).toFixed(1)} us server CPU per request`);
    }
    for (const variant of ['static', 'tokenreview']) {
      const r = pairedRps[variant];
      console.log(`${variant}/none throughput: medians ${(median(rps[variant]) / median(rps.none)).toFixed(3)}, paired median ${median(r).toFixed(3)} (range ${Math.min(...r).toFixed(3)}-${Math.max(...r).toFixed(3)}); CPU per request paired median ${median(pairedCpu[variant]).toFixed(3)}`);
    }
    console.log(`tokenreview: ${api.reviewed.length} review(s) by the fake API server for ${checks} measured checks (plus warm-up): a warm cache`);
  } finally {
    for (const { child } of Object.values(servers)) child.disconnect();
    await api.stop();
  }
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) await serve(process.argv[serveAt + 1], process.argv[process.argv.indexOf('--api') + 1]);
else await main();
