#!/usr/bin/env node
/**
 * What the decision log's evidence (contract section 15: seq, log_id, chain, caller, grant, and
 * keyed checkpoints) costs /v1/check: throughput of the real app (createApp, over loopback HTTP)
 * writing its decision lines as deployed, to its stdout, a pipe that another process drains
 * (`cat`, on --reader-cpu), in three or four variants:
 *
 *   plain         another checkout's build without the chain (--base-root, e.g. 69f5de8, before it):
 *                 shorter lines (no seq, log_id, chain, caller, grant), and whatever else differs
 *   chain-before  optional (--before-root): another build with the chain, e.g. this one before a change
 *   unchained     this build with the chain's SHA-256 replaced by a constant: the same lines, bytes
 *                 and writes, no hashing; what `chain` costs is chain / unchained
 *   chain         this build: chained lines, no checkpoints
 *   checkpoints   this build with an audit key: a checkpoint every 1,000 decisions
 *
 *   npm run build && (cd OTHER && npm run build) && npm ci --prefix bench
 *   node bench/audit-overhead.mjs --base-root OTHER [--before-root CHECKOUT] [--rounds 8] [--duration 4] [--warmup 4]
 *        [--connections 16] [--server-cpu N] [--reader-cpu M]
 *
 * Each variant is a child process of its own; rounds rotate the order so that drift and noise
 * from other work on the machine fall on all alike. Prints per run requests/s and the server
 * process's CPU time per request (far less sensitive to other load), then the medians and the
 * ratios to `plain`. Not part of `npm test`; the figures are in docs/performance.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { importAutocannon, startBenchChild, startLogPipe } from './lib/proc.mjs';

const HERE = fileURLToPath(new URL('..', import.meta.url));
const REGISTRY = path.join(HERE, 'examples', 'ops-warden', 'production_registry_snapshot.json');
const REQUESTS = path.join(HERE, 'examples', 'requests');
const KEY = Buffer.from('bench-audit-key-0123456789abcdef');

// ---------------------------------------------------------------------------------------------
// Child: one app.

/**
 * The `unchained` variant: crypto's one-shot `hash` answers a chain's input (64 hex digits of
 * the previous chain, then the line, which opens with `{`) with a constant, and hashes
 * everything else (decision ids) as before; `syncBuiltinESMExports` makes the modules that
 * imported `hash` see the replacement.
 */
function unchain() {
  const crypto = createRequire(import.meta.url)('node:crypto');
  const real = crypto.hash;
  const constant = 'f'.repeat(64);
  crypto.hash = (algorithm, data, encoding) =>
    (typeof data === 'string' && data.length > 64 && data.charCodeAt(64) === 0x7b && data.charCodeAt(0) !== 0x7b ? constant : real(algorithm, data, encoding));
  syncBuiltinESMExports();
}

async function serve(variant, root) {
  if (variant === 'unchained') unchain();
  const dist = path.join(root, 'dist', 'src');
  const { createApp } = await import(path.join(dist, 'http', 'app.js'));
  const { createLogger } = await import(path.join(dist, 'logger.js'));
  const { Metrics } = await import(path.join(dist, 'metrics.js'));
  const { RegistryStore } = await import(path.join(dist, 'registry', 'store.js'));
  // stdout, as `serve` writes it: the parent made it a drained pipe.
  const logger = createLogger();
  if (variant === 'checkpoints') {
    const { DecisionLog } = await import(path.join(dist, 'http', 'decision-log.js'));
    DecisionLog.for(logger).startCheckpoints({ key: () => KEY });
  }
  const store = new RegistryStore({ kind: 'embedded', name: 'embedded:bench' });
  if (store.apply(readFileSync(REGISTRY, 'utf8')) !== 'loaded') throw new Error('registry did not load');
  const server = createServer(createApp({ store, metrics: new Metrics('embedded'), logger, isDraining: () => false }));
  server.keepAliveTimeout = 5_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.on('message', () => process.send(process.cpuUsage()));
  process.on('disconnect', () => process.exit(0));
  process.send({ port: server.address().port });
}

// ---------------------------------------------------------------------------------------------
// Parent: the load.

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function startChild(variant, root, serverCpu, readerCpu) {
  const pipe = startLogPipe(readerCpu);
  try {
    return { ...(await startBenchChild(fileURLToPath(import.meta.url), ['--serve', variant, '--child-root', root], variant, serverCpu, pipe.fd)), pipe };
  } finally {
    pipe.close();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      'child-root': { type: 'string' },
      'base-root': { type: 'string' },
      'before-root': { type: 'string' },
      rounds: { type: 'string', default: '8' },
      duration: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '4' },
      connections: { type: 'string', default: '16' },
      'server-cpu': { type: 'string' },
      'reader-cpu': { type: 'string' },
    },
  });
  if (values.serve) return serve(values.serve, values['child-root']);
  if (!values['base-root']) {
    console.error('give --base-root CHECKOUT: a built checkout without the chain, to compare with');
    process.exit(2);
  }
  const autocannon = await importAutocannon();
  const requests = readdirSync(REQUESTS).filter((f) => f.endsWith('.json')).sort()
    .map((f) => ({ method: 'POST', path: '/v1/check', headers: { 'content-type': 'application/json' }, body: readFileSync(path.join(REQUESTS, f), 'utf8') }));
  const roots = { plain: path.resolve(values['base-root']), ...(values['before-root'] ? { 'chain-before': path.resolve(values['before-root']) } : {}), unchained: HERE, chain: HERE, checkpoints: HERE };
  const variants = Object.keys(roots);
  const servers = {};
  for (const variant of variants) servers[variant] = await startChild(variant, roots[variant], values['server-cpu'], values['reader-cpu']);
  const run = async (variant, seconds) => {
    const { port, cpu } = servers[variant];
    const before = await cpu();
    const result = await autocannon({ url: `http://127.0.0.1:${port}`, connections: Number(values.connections), duration: seconds, requests });
    const used = (await cpu()) - before;
    if (result.errors || result.timeouts || result.non2xx) throw new Error(`${variant}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`);
    return { rps: result.requests.average, cpu: used / result.requests.total };
  };
  try {
    const rounds = Number(values.rounds);
    console.log(`node ${process.version}, ${values.connections} connections, ${rounds} rounds x ${values.duration} s per variant, order rotated each round; decision log to a drained pipe`);
    for (const variant of variants) await run(variant, Number(values.warmup));
    const results = Object.fromEntries(variants.map((variant) => [variant, []]));
    for (let round = 0; round < rounds; round += 1) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]);
      for (const variant of (round % 2 ? order.reverse() : order)) results[variant].push(await run(variant, Number(values.duration)));
      console.log(`round ${round + 1}: ${variants.map((v) => `${v} ${results[v].at(-1).rps.toFixed(0)} req/s ${results[v].at(-1).cpu.toFixed(1)} us CPU/req`).join('; ')}`);
    }
    const rps = Object.fromEntries(variants.map((v) => [v, median(results[v].map((r) => r.rps))]));
    const cpu = Object.fromEntries(variants.map((v) => [v, median(results[v].map((r) => r.cpu))]));
    for (const variant of variants) {
      console.log(`${variant}: median ${rps[variant].toFixed(0)} req/s, ${cpu[variant].toFixed(2)} us CPU/req; ` +
        `throughput ratio to plain ${(rps[variant] / rps.plain).toFixed(3)}, CPU/req ratio ${(cpu[variant] / cpu.plain).toFixed(3)}; ` +
        `to unchained: throughput ${(rps[variant] / rps.unchained).toFixed(3)}, CPU/req ${(cpu[variant] / cpu.unchained).toFixed(3)}`);
    }
  } finally {
    for (const { child, pipe } of Object.values(servers)) {
      child.kill();
      pipe.stop();
    }
  }
}

await main();
