#!/usr/bin/env node
/**
 * The reload stall and the memory a reload takes: a real `flex-auth serve` follows a registry
 * file of --actors actors while --concurrency loops send checks over loopback; after
 * --steady seconds the file is replaced (rename-save) by a different registry of the same
 * size, and the load goes on until /readyz shows the new revision and one second more.
 * Prints one JSON line: check latency while steady (p50, p99, max), the worst latency of any
 * check that overlapped the reload, failures, the time to serve the new revision, and the
 * server's peak RSS (VmHWM: both registries alive, plus the validating worker). The server runs
 * as deployed: the image's Node flags, and the chart's memory limit (a memory cgroup of its own,
 * when this host lets the script make one; `memory_limit` in the output says whether it did).
 *
 *   node bench/scale/reload-stall.mjs --actors 100000 [--root CHECKOUT] [--concurrency 4] [--steady 5]
 *
 * --root runs another checkout's dist/ (e.g. the commit before the reload moved off the
 * event loop) against the same registries.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateRegistry } from '../lib/registry-gen.mjs';
import { deployedMemoryLimit, deployedNodeFlags, freePort, memory, memoryCgroup, startPinned, stop, waitReady } from '../lib/proc.mjs';

const { values } = parseArgs({
  options: {
    actors: { type: 'string', default: '100000' }, root: { type: 'string' },
    concurrency: { type: 'string', default: '4' }, steady: { type: 'string', default: '5' },
  },
});
const ROOT = values.root ? path.resolve(values.root) : fileURLToPath(new URL('../..', import.meta.url));
const actors = Number(values.actors);
const dir = mkdtempSync(path.join(tmpdir(), 'flex-auth-stall-'));
const file = path.join(dir, 'registry.json');
const before = generateRegistry(actors, { seed: 1 });
// Written now: building the text during the measurement would stall this client, not the server.
writeFileSync(`${file}.next`, JSON.stringify(generateRegistry(actors, { seed: 1, variant: 1 })));
writeFileSync(file, JSON.stringify(before));

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
// Started as the image starts it, under the pod's memory limit: its Node flags set the young
// generation and the limit sets the heap's, both of which the peak counts.
const limitBytes = deployedMemoryLimit(ROOT);
const cgroup = memoryCgroup(limitBytes, 'reload-stall');
const server = startPinned({ command: process.execPath, cgroupProcs: cgroup.procs, args: [...deployedNodeFlags(ROOT), path.join(ROOT, 'dist/src/cli/index.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--registry-file', file] });
const agent = new Agent({ keepAlive: true, maxSockets: Number(values.concurrency) + 1 });

function call(method, route, body) {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = request(`${base}${route}`, { method, agent, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ started, ended: performance.now(), status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', () => resolve({ started, ended: performance.now(), status: 0, body: '' }));
    req.end(body);
  });
}

const revisionNow = async () => JSON.parse((await call('GET', '/readyz')).body).revision;

try {
  await waitReady(server, `${base}/readyz`);
  const checks = [];
  let running = true;
  // Agents of the registry: an allow and a deny by ttl, alternately.
  const names = before.actors.filter((a) => a.type === 'agent' && !a.disabled).slice(0, 50).map((a) => a.name);
  const loops = Array.from({ length: Number(values.concurrency) }, async (_, worker) => {
    for (let i = worker; running; i += 1) {
      const name = names[i % names.length];
      const body = JSON.stringify({ subject: { id: name }, action: 'sign', resource: { type: 'ssh_actor', id: name }, context: i % 2 ? { ttl: '999h' } : {} });
      checks.push(await call('POST', '/v1/check', body));
    }
  });
  // The first second warms up (JIT, the first reload's garbage) and is not counted.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const warmEnd = performance.now();
  await new Promise((resolve) => setTimeout(resolve, Number(values.steady) * 1000));
  const oldRevision = await revisionNow();
  const hwmBefore = memory(server.pid).hwm_mib;
  const swapAt = performance.now();
  renameSync(`${file}.next`, file);
  let servedAt;
  for (const deadline = Date.now() + 180_000; Date.now() < deadline;) {
    if ((await revisionNow()) !== oldRevision) { servedAt = performance.now(); break; }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  running = false;
  await Promise.all(loops);
  const steady = checks.filter((c) => c.started > warmEnd && c.ended < swapAt).map((c) => c.ended - c.started).sort((a, b) => a - b);
  const during = checks.filter((c) => c.ended >= swapAt && c.started <= (servedAt ?? Infinity));
  const q = (p) => steady[Math.min(steady.length - 1, Math.floor(p * steady.length))];
  const worst = Math.max(...during.map((c) => c.ended - c.started));
  console.log(JSON.stringify({
    root: ROOT, actors, concurrency: Number(values.concurrency),
    memory_limit: { bytes: limitBytes, applied: cgroup.reason === undefined, ...(cgroup.reason ? { reason: cgroup.reason } : {}) },
    steady: { checks: steady.length, p50_ms: q(0.5), p99_ms: q(0.99), max_ms: steady.at(-1) },
    reload: {
      served_after_ms: servedAt === undefined ? null : servedAt - swapAt,
      checks: during.length, worst_ms: worst, worst_over_steady_p99_ms: worst - q(0.99),
      failed: checks.filter((c) => c.status !== 200).length,
    },
    hwm_mib_before_reload: hwmBefore, hwm_mib_after_reload: memory(server.pid).hwm_mib, rss_mib_after: memory(server.pid).rss_mib,
  }));
} finally {
  agent.destroy();
  await stop(server);
  cgroup.remove?.();
  rmSync(dir, { recursive: true, force: true });
}
