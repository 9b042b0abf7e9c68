#!/usr/bin/env node
/**
 * What counting costs /v1/check: throughput of the real app (createApp, over loopback HTTP)
 * with the real Metrics against the same app with a Metrics whose record* methods do nothing.
 *
 *   npm run build && npm ci --prefix bench     (autocannon is a dependency of bench/package.json)
 *   node bench/metrics-overhead.mjs [--rounds 16] [--duration 3] [--warmup 5] [--connections 10] [--server-cpu N] [--root CHECKOUT]
 *
 * `npm run bench` runs it as its `overhead` phase, itself on CPU 1 with --server-cpu 0 (each
 * server child pinned with taskset -c 0), so the load and the servers do not share a CPU.
 *
 * Each app runs in a child process of its own (so the load generator, autocannon in this
 * process, shares neither server's event loop, and neither server's garbage or JIT state the
 * other's); runs alternate between the two in ABBA order so that drift and noise from other work
 * on the machine fall on both alike. Requests cycle through examples/requests/*.json (every
 * reason). The decision log is discarded in both, which makes
 * the share of metrics in the remaining work, and so the measured cost, larger, not smaller.
 * Prints, for each run, requests/s and the server process's CPU time per request; then the
 * medians and the ratios with/without metrics (throughput, and CPU per request, which is far less
 * sensitive to other load on the machine), and the cost of the record* calls alone.
 *
 * Not part of `npm test`: it takes about rounds x 2 x duration seconds and wants a quiet machine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { importAutocannon, startBenchChild } from './lib/proc.mjs';

// --root CHECKOUT measures another checkout's build (the bench runner's --flex-root).
const rootAt = process.argv.indexOf('--root');
const ROOT = rootAt >= 0 ? path.resolve(process.argv[rootAt + 1]) : fileURLToPath(new URL('..', import.meta.url));
const DIST = path.join(ROOT, 'dist', 'src');
const REGISTRY = path.join(ROOT, 'examples', 'ops-warden', 'production_registry_snapshot.json');
const REQUESTS = path.join(ROOT, 'examples', 'requests');

// ---------------------------------------------------------------------------------------------
// Child: one app, with or without metrics.

async function serve(variant) {
  const { createApp } = await import(path.join(DIST, 'http', 'app.js'));
  const { createLogger } = await import(path.join(DIST, 'logger.js'));
  const { Metrics } = await import(path.join(DIST, 'metrics.js'));
  const { RegistryStore } = await import(path.join(DIST, 'registry', 'store.js'));

  /** The same service, minus counting: every record* method is a no-op. */
  class NoopMetrics extends Metrics {
    recordDecision() {}
    recordHttp() {}
    recordReload() {}
  }

  const text = readFileSync(REGISTRY, 'utf8');
  const logger = createLogger({ destination: { write() {} } });

  async function start(metrics) {
    const store = new RegistryStore({ kind: 'embedded', name: 'embedded:bench' });
    store.onReload((event) => metrics.recordReload(event));
    if (store.apply(text) !== 'loaded') throw new Error('registry did not load');
    // createApp gives a Koa app in older builds and a plain request listener in newer ones.
    const app = createApp({ store, metrics, logger, isDraining: () => false });
    const server = createServer(typeof app === 'function' ? app : app.callback());
    // As in src/main.ts.
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    server.keepAliveTimeout = 5_000;
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server.address().port;
  }

  const port = await start(variant === 'with' ? new Metrics('embedded') : new NoopMetrics('embedded'));
  // The parent asks for this process's CPU time around each run: only this server runs here.
  process.on('message', () => process.send(process.cpuUsage()));
  process.on('disconnect', () => process.exit(0));
  process.send({ port });
}

// ---------------------------------------------------------------------------------------------
// Parent: the load.

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One server process per variant, so that neither's garbage or JIT state touches the other's runs. */
function startChild(variant, serverCpu) {
  return startBenchChild(fileURLToPath(import.meta.url), ['--serve', variant, '--root', ROOT], variant, serverCpu);
}

/** Nanoseconds per call of what one check records (a decision and an HTTP request), in this process. */
async function recordCost(iterations) {
  const { Metrics } = await import(path.join(DIST, 'metrics.js'));
  const metrics = new Metrics('embedded');
  const reasons = ['allowed', 'ttl_out_of_bounds', 'subject_not_allowed', 'unknown_actor_resource'];
  const once = (i) => {
    const reason = reasons[i & 3];
    metrics.recordDecision('sign', reason === 'allowed', reason, 0.0002);
    metrics.recordHttp('/v1/check', 'POST', 200);
  };
  for (let i = 0; i < iterations / 10; i += 1) once(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) once(i);
  return Number(process.hrtime.bigint() - started) / iterations;
}

async function metricsText(port) {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function decisionsCounted(text) {
  return [...text.matchAll(/^flex_auth_decisions_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function main() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '16' },
      duration: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '5' },
      connections: { type: 'string', default: '10' },
      'server-cpu': { type: 'string' },
      root: { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  const duration = Number(values.duration);
  const warmup = Number(values.warmup);
  const connections = Number(values.connections);

  const autocannon = await importAutocannon();

  const requests = readdirSync(REQUESTS)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ method: 'POST', path: '/v1/check', headers: { 'content-type': 'application/json' }, body: readFileSync(path.join(REQUESTS, f), 'utf8') }));

  const serverCpu = values['server-cpu'];
  const servers = { with: await startChild('with', serverCpu), without: await startChild('without', serverCpu) };
  const run = async (variant, seconds) => {
    const { port, cpu } = servers[variant];
    const cpuBefore = await cpu();
    const result = await autocannon({ url: `http://127.0.0.1:${port}`, connections, duration: seconds, requests });
    const cpuUsed = (await cpu()) - cpuBefore;
    if (result.errors || result.timeouts || result.non2xx) {
      throw new Error(`${variant}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers`);
    }
    return { rps: result.requests.average, cpuPerRequest: cpuUsed / result.requests.total, p50: result.latency.p50, p99: result.latency.p99 };
  };

  try {
    console.log(`node ${process.version}, ${requests.length} request kinds, ${connections} connections, ${rounds} rounds x ${duration} s per variant (ABBA), warm-up ${warmup} s each`);
    await run('with', warmup);
    await run('without', warmup);
    const results = { with: [], without: [] };
    const cpuResults = { with: [], without: [] };
    const ratios = [];
    const cpuRatios = [];
    for (let round = 1; round <= rounds; round += 1) {
      const order = round % 2 ? ['with', 'without'] : ['without', 'with'];
      const got = {};
      for (const variant of order) got[variant] = await run(variant, duration);
      for (const variant of ['with', 'without']) {
        results[variant].push(got[variant].rps);
        cpuResults[variant].push(got[variant].cpuPerRequest);
      }
      ratios.push(got.with.rps / got.without.rps);
      cpuRatios.push(got.with.cpuPerRequest / got.without.cpuPerRequest);
      const show = (r) => `${r.rps.toFixed(0)} req/s, ${r.cpuPerRequest.toFixed(1)} us CPU/req, p50 ${r.p50} ms, p99 ${r.p99} ms`;
      console.log(`round ${round} (${order.join(' then ')}): with metrics ${show(got.with)}; without ${show(got.without)}; throughput ratio ${(got.with.rps / got.without.rps).toFixed(3)}`);
    }

    // The real one counted every decision it answered; the no-op one none.
    const counted = { with: decisionsCounted(await metricsText(servers.with.port)), without: decisionsCounted(await metricsText(servers.without.port)) };
    if (counted.with === 0 || counted.without !== 0) throw new Error(`unexpected counts: ${JSON.stringify(counted)}`);

    const medWith = median(results.with);
    const medWithout = median(results.without);
    console.log(`decisions counted: with metrics ${counted.with}, without ${counted.without}`);
    console.log(`median with metrics:    ${medWith.toFixed(0)} req/s`);
    console.log(`median without metrics: ${medWithout.toFixed(0)} req/s`);
    console.log(`ratio with/without (medians):        ${(medWith / medWithout).toFixed(3)}`);
    console.log(`ratio with/without (paired, median): ${median(ratios).toFixed(3)} (range ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)})`);
    const cpuWith = median(cpuResults.with);
    const cpuWithout = median(cpuResults.without);
    console.log(`server CPU per request, median: with metrics ${cpuWith.toFixed(1)} us, without ${cpuWithout.toFixed(1)} us, ratio ${(cpuWith / cpuWithout).toFixed(3)} (paired median ${median(cpuRatios).toFixed(3)})`);
    const ns = await recordCost(200_000);
    console.log(`recordDecision + recordHttp: ${(ns / 1000).toFixed(2)} us per check, in isolation (${((ns / 1000 / cpuWithout) * 100).toFixed(1)} % of the server CPU per request without metrics)`);
  } finally {
    for (const { child } of Object.values(servers)) child.disconnect();
  }
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) await serve(process.argv[serveAt + 1]);
else await main();
