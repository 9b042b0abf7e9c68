#!/usr/bin/env node
/**
 * AuthZEN figures (docs/performance.md, "AuthZEN"): figures, not a timed test.
 *
 *   node bench/authzen.mjs [--rounds 5] [--checks 2000] [--batches 400] [--subjects 10000]
 *
 * 1. Server CPU per request of `flex-auth serve` (read from its own process_cpu_seconds_total),
 *    for POST /v1/check and for POST /access/v1/evaluations with 50 items, in interleaved
 *    rounds over the production example registry, 8 requests in flight; medians.
 * 2. Subject search for an actor with --subjects effective subjects (all through one group):
 *    CPU per page of 100, in-process (search() on the compiled registry: the first page, which
 *    lists the actor's subjects, and the pages after it), and over HTTP (server CPU per request).
 * Run `npm run build` first.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'index.js');
const PRODUCTION = path.join(ROOT, 'examples', 'ops-warden', 'production_registry_snapshot.json');

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    checks: { type: 'string', default: '2000' },
    batches: { type: 'string', default: '400' },
    subjects: { type: 'string', default: '10000' },
  },
});
const rounds = Number(values.rounds);
const subjectsCount = Number(values.subjects);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function startServer(registryFile) {
  const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--registry-file', registryFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const match = /"msg":"listening"/.test(buffered) && /"port":(\d+)/.exec(buffered);
      if (match) resolve(Number(match[1]));
      if (buffered.length > 1e6) buffered = buffered.slice(-1e5); // decision lines keep coming; keep the tail only
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  child.stdout.resume();
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

async function serverCpuSeconds(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^process_cpu_seconds_total (\S+)$/m.exec(text)[1]);
}

/** Sends `count` POSTs with `inFlight` at a time; returns the server's CPU seconds per request. */
async function cpuPerRequest(url, route, body, count, inFlight = 8) {
  const payload = JSON.stringify(body);
  const one = async () => {
    const response = await fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
    if (response.status !== 200) throw new Error(`${route}: HTTP ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
  };
  const before = await serverCpuSeconds(url);
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next++ < count) await one();
  }));
  return (await serverCpuSeconds(url) - before) / count;
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'flex-auth-authzen-bench-'));
try {
  // 1. /v1/check vs evaluations of 50.
  const check = { subject: { id: 'iam:carol' }, action: 'sign', resource: { type: 'ssh_actor', id: 'atm-backup-daily' }, context: { ttl: '4h', principals: ['backup'] } };
  const item = (i) => ({ resource: { type: 'ssh_actor', id: i % 2 === 0 ? 'atm-backup-daily' : 'agt-state-hub-bridge' } });
  const batch = {
    subject: { type: 'identity', id: 'iam:carol' },
    action: { name: 'sign', properties: { ttl: '1h' } },
    evaluations: Array.from({ length: 50 }, (_, i) => item(i)),
  };
  const server = await startServer(PRODUCTION);
  const checkCpu = [];
  const batchCpu = [];
  await cpuPerRequest(server.url, '/v1/check', check, 1000);
  await cpuPerRequest(server.url, '/access/v1/evaluations', batch, 200);
  for (let round = 0; round < rounds; round++) {
    checkCpu.push(await cpuPerRequest(server.url, '/v1/check', check, Number(values.checks)));
    batchCpu.push(await cpuPerRequest(server.url, '/access/v1/evaluations', batch, Number(values.batches)));
  }
  server.stop();
  const checkUs = median(checkCpu) * 1e6;
  const batchUs = median(batchCpu) * 1e6;
  console.log(`/v1/check: ${checkUs.toFixed(1)} us CPU per request (median of ${rounds} rounds: ${checkCpu.map((s) => (s * 1e6).toFixed(1)).join(', ')})`);
  console.log(`evaluations x50: ${batchUs.toFixed(1)} us CPU per request (rounds: ${batchCpu.map((s) => (s * 1e6).toFixed(1)).join(', ')})`);
  console.log(`ratio evaluations x50 / check: ${(batchUs / checkUs).toFixed(2)} (goal <= 10); per decision: ${(batchUs / 50).toFixed(1)} us, ${(checkUs / (batchUs / 50)).toFixed(1)}x cheaper than a check`);

  // 2. Subject search over an actor with many effective subjects.
  const members = Array.from({ length: subjectsCount }, (_, i) => `iam:user-${String(i).padStart(6, '0')}`);
  const document = {
    schema: 'flex-auth.registry/v1',
    actors: [{ name: 'atm-wide', type: 'automation', principals: ['atm-wide'], ttl: { default: '1h', max: '8h' } }],
    relationships: [
      ...members.map((subject) => ({ object: 'group:everyone', relation: 'member', subject })),
      { object: 'actor:atm-wide', relation: 'signer', subject: 'group:everyone#member' },
    ],
  };
  const registryFile = path.join(scratch, 'wide.json');
  writeFileSync(registryFile, JSON.stringify(document));
  const { loadRegistry } = await import(path.join(ROOT, 'dist', 'src', 'registry', 'load.js'));
  const { parseSearch, search } = await import(path.join(ROOT, 'dist', 'src', 'http', 'authzen', 'search.js'));
  const query = { subject: { type: 'identity' }, action: { name: 'sign' }, resource: { type: 'ssh_actor', id: 'atm-wide' }, page: { limit: 100 } };
  const firstPages = [];
  const laterPages = [];
  for (let round = 0; round < rounds; round++) {
    const registry = loadRegistry(readFileSync(registryFile, 'utf8')); // a fresh revision object: nothing cached
    let token;
    let pages = 0;
    do {
      const body = token === undefined ? query : { ...query, page: { token } };
      const before = process.cpuUsage();
      const answer = search(parseSearch('subject', body), registry);
      const spent = process.cpuUsage(before);
      (pages === 0 ? firstPages : laterPages).push((spent.user + spent.system) / 1000);
      if (answer.results.length !== Math.min(100, subjectsCount - pages * 100)) throw new Error(`page ${pages} has ${answer.results.length} results`);
      token = answer.page.next_token;
      pages++;
    } while (token);
  }
  console.log(`subject search, ${subjectsCount} effective subjects, page of 100 (in-process): first page ${median(firstPages).toFixed(3)} ms CPU (median of ${rounds}), later pages median ${median(laterPages).toFixed(3)} ms, p99 ${quantile(laterPages, 0.99).toFixed(3)} ms (${laterPages.length} pages)`);

  const wide = await startServer(registryFile);
  await cpuPerRequest(wide.url, '/access/v1/search/subject', query, 200);
  const httpPages = [];
  for (let round = 0; round < rounds; round++) httpPages.push(await cpuPerRequest(wide.url, '/access/v1/search/subject', query, 500));
  wide.stop();
  console.log(`subject search over HTTP, page of 100: ${(median(httpPages) * 1e3).toFixed(3)} ms server CPU per request (rounds: ${httpPages.map((s) => (s * 1e3).toFixed(3)).join(', ')})`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
