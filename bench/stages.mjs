#!/usr/bin/env node
/**
 * What each stage of one /v1/check costs, in isolation: a tiny loop harness over the benchmark's
 * request mix (the 1,000-actor registry and its 4,200 checks, 70 % allows), calling the built
 * modules of a checkout the way the check lane calls them.
 *
 *   npm run build && node bench/stages.mjs [--root CHECKOUT] [--size 1000] [--samples 7] [--ops 50000] [--json]
 *
 * Each stage runs `--ops` operations (cycling through the mix) `--samples` times after a warm-up;
 * the median CPU time (user + system) per operation is reported, in ns, with each stage's share of the sum and, for the
 * stages the floors also do, the floors' own cost; and the bytes an operation allocates, which the young generation's
 * scavenges cost again later (the loop runs with the image's Node flags, so that generation is the deployed one).
 * Stages a profile sees but a loop cannot isolate (Node's HTTP parser and reply, the socket writes) are in the profile (`npm run bench
 * -- --phases profile`); docs/performance.md puts both together. Pinned to one CPU when
 * `taskset` is there (the first CPU of the benchmark's pair, as a server is).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GCProfiler, getHeapSpaceStatistics } from 'node:v8';
import { ensureData } from './lib/data.mjs';
import { deployedNodeFlags, startLogPipe } from './lib/proc.mjs';
import { median } from './lib/stats.mjs';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const { values: flags } = parseArgs({
  options: {
    root: { type: 'string', default: path.resolve(BENCH, '..') },
    size: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '7' },
    ops: { type: 'string', default: '50000' },
    cpu: { type: 'string', default: '0' },
    'reader-cpu': { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    pinned: { type: 'boolean', default: false },
  },
});

const root = path.resolve(flags.root);

// Re-run with the image's Node flags (its young generation) and --expose-gc (for the bytes each
// stage allocates), pinned to one CPU when taskset is there.
if (!flags.pinned) {
  const node = [process.execPath, ...deployedNodeFlags(root), '--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2), '--pinned'];
  const r = spawnSync('taskset', ['-V']).status === 0
    ? spawnSync('taskset', ['-c', flags.cpu, ...node], { stdio: 'inherit' })
    : spawnSync(node[0], node.slice(1), { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const dist = (p) => import(path.join(root, 'dist', 'src', p));
const { loadRegistry } = await dist('registry/load.js');
const { parseRequestJson, parseCheckRequest } = await dist('core/check-request.js');
const { decide } = await dist('core/decide.js');
const { decisionId } = await dist('core/decision-id.js');
const { sshSignV1 } = await dist('core/policies/ssh-sign-v1.js');
const { requestIdFor } = await dist('http/request-id.js');
// The reply body as the check lane writes it (spelled out since this round; JSON.stringify before).
const { decisionJson = JSON.stringify } = await dist('http/check.js');
const { createLogger } = await dist('logger.js');
const { DecisionLog } = await dist('http/decision-log.js');
const { Metrics } = await dist('metrics.js');
const chain = await dist('http/audit-chain.js').catch(() => null);
const { decide: floorDecide, loadActors } = await import('./servers/floor.mjs');

const data = ensureData({ cacheDir: path.join(BENCH, '.cache'), root, size: Number(flags.size) });
const registry = loadRegistry(readFileSync(data.registryFile, 'utf8'));
const actors = loadActors(data.registryFile);
const mix = readFileSync(data.flexTsv, 'utf8').split('\n').filter(Boolean).map((line) => {
  const [i, , , , body] = line.split('\t');
  return { requestId: `bq-${i}`, text: body, buffer: Buffer.from(body) };
});
const n = mix.length;
// Every stage's input, made once, so each loop measures its own stage only.
const parsed = mix.map((m) => parseRequestJson(m.text));
const requests = parsed.map((body) => parseCheckRequest(body));
const normalized = requests.map((r) => sshSignV1.prepare(r, registry, false).normalized);
const decisions = requests.map((r) => decide(registry, r));
const records = requests.map((request, i) => ({ requestId: mix[i].requestId, request, decision: decisions[i], durationMs: 0.0123, caller: 'anonymous' }));
const floorBodies = mix.map((m) => JSON.parse(m.text));
const floorAnswers = floorBodies.map((body) => floorDecide(actors, body));

// The decision log as deployed: lines written to a pipe a reader drains.
const pipe = startLogPipe(Number(flags['reader-cpu']));
/** Lines a write carries under load: the decision log's group bound (8 before this round). */
const GROUP = DecisionLog.GROUP_SIZE ?? 8;
const logger = createLogger({ destination: { write: (text) => writeSync(pipe.fd, text) } });
const decisionLog = new DecisionLog(logger, () => {});
const metrics = new Metrics('file');
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
let sink = 0;

/**
 * [name, function of the operation's index, kind]: `part` is inside a stage before it (shown,
 * not summed again); `floor` is the same work as the floors do it.
 */
const stages = [
  ['request id (X-Request-Id checked)', (i) => requestIdFor(mix[i].requestId).length],
  ['body read (bytes to text)', (i) => mix[i].buffer.toString('utf8').length],
  ['JSON parse (strict)', (i) => (parseRequestJson(mix[i].text) === null ? 0 : 1)],
  ['request validation', (i) => parseCheckRequest(parsed[i]).action.length],
  ['decision (decide, its id included)', (i) => decide(registry, requests[i]).reason.length],
  ['decision id (canonical JSON + SHA-256)', (i) => decisionId('ssh-sign/v1', registry.revision, normalized[i]).length, 'part'],
  [`decision log: line, chain, queue, write (per line, groups of ${GROUP})`, (i) => {
    decisionLog.append(records[i], () => {});
    return 1;
  }],
  ...(chain ? [['chain hash (SHA-256 of the previous chain + a decision line)', (i) => chain.chainOf(chain.CHAIN_START, lines[i % GROUP]).length, 'part']] : []),
  [`log write (${GROUP}-line groups to a drained pipe, per line)`, (i) => (i % GROUP === GROUP - 1 ? writeSync(pipe.fd, lineGroup) : 0), 'part'],
  ['metrics (decision counter, duration histogram, HTTP counter)', (i) => {
    metrics.recordDecision(requests[i].action, decisions[i].allow, decisions[i].reason, 0.0000123);
    metrics.recordHttp('/v1/check', 'POST', 200);
    return 1;
  }],
  ['reply body and header list', (i) => {
    const json = decisionJson(decisions[i]);
    return ['Content-Type', JSON_CONTENT_TYPE, 'Content-Length', String(Buffer.byteLength(json)), 'X-Request-Id', mix[i].requestId].length + json.length;
  }],
  ['floor: JSON.parse', (i) => (JSON.parse(mix[i].text) === null ? 0 : 1), 'floor'],
  ['floor: decision (map lookups)', (i) => (floorDecide(actors, floorBodies[i]).allow ? 1 : 0), 'floor'],
  ['floor: reply body', (i) => JSON.stringify(floorAnswers[i]).length, 'floor'],
];

// A group of real decision lines, for the hash and write stages.
let lineGroup = '';
{
  const capture = createLogger({ destination: { write: (text) => { lineGroup += text; } } });
  let commit;
  const log = new DecisionLog(capture, (run) => { commit = run; });
  for (let i = 0; i < GROUP - 1; i += 1) log.append(records[i], () => {});
  commit();
  log.append(records[GROUP], () => {});
  commit();
}
const lines = lineGroup.split('\n').filter(Boolean);

/**
 * CPU time (user + system) per operation: a write that waits for the pipe's reader, or a
 * moment the machine gives another process, is not counted as the stage's cost.
 */
function time(fn, ops) {
  const start = process.cpuUsage();
  for (let k = 0; k < ops; k += 1) sink += fn(k % n);
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / ops;
}

function youngBytes() {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_used_size;
}

/**
 * Bytes allocated per operation: the young generation's growth over 1,000 operations that start
 * right after a full GC. 1,000 of the largest stage (about 4 KB each) fill a quarter of the 16 MiB
 * semi-space, well short of where V8 starts a scavenge; NaN if a collection came all the same
 * (it would have freed some of what was allocated).
 */
function bytes(fn) {
  const ops = 1000;
  globalThis.gc();
  const collections = new GCProfiler();
  collections.start();
  const before = youngBytes();
  for (let k = 0; k < ops; k += 1) sink += fn(k % n);
  const grown = youngBytes() - before;
  return collections.stop().statistics.length === 0 ? grown / ops : Number.NaN;
}

const ops = Number(flags.ops);
const rows = [];
for (const [name, fn, kind] of stages) {
  time(fn, ops); // warm-up: the JIT, caches
  const samples = [];
  for (let s = 0; s < Number(flags.samples); s += 1) samples.push(time(fn, ops));
  rows.push({ stage: name, kind: kind ?? 'flex-auth', ns_per_op: median(samples), min_ns: Math.min(...samples), max_ns: Math.max(...samples), bytes_per_op: bytes(fn) });
}
pipe.stop();

const flexRows = rows.filter((r) => r.kind === 'flex-auth');
const sum = flexRows.reduce((s, r) => s + r.ns_per_op, 0);
if (flags.json) {
  console.log(JSON.stringify({ root, size: Number(flags.size), ops, samples: Number(flags.samples), rows, sum_ns: sum, sink }));
} else {
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  console.log(`stages of one check, ${root} (${commit}), ${flags.size} actors, ${n} checks cycled; median of ${flags.samples} x ${ops} ops, node ${process.version}`);
  console.log(`${'stage'.padEnd(66)} ${'ns/op'.padStart(8)} ${'range'.padStart(15)} ${'share'.padStart(6)} ${'bytes/op'.padStart(9)}`);
  for (const r of rows) {
    const counted = flexRows.includes(r);
    const share = counted ? `${((100 * r.ns_per_op) / sum).toFixed(1)} %` : r.kind === 'part' ? '(part)' : '';
    console.log(`${r.stage.padEnd(66)} ${r.ns_per_op.toFixed(0).padStart(8)} ${`${r.min_ns.toFixed(0)}-${r.max_ns.toFixed(0)}`.padStart(15)} ${share.padStart(6)} ${r.bytes_per_op.toFixed(0).padStart(9)}`);
  }
  const floorRows = rows.filter((r) => r.kind === 'floor');
  const total = (list, key) => list.reduce((s, r) => s + r[key], 0);
  console.log(`${'sum of the flex-auth stages above (share column; "(part)": inside another)'.padEnd(66)} ${sum.toFixed(0).padStart(8)} ${''.padStart(22)} ${total(flexRows, 'bytes_per_op').toFixed(0).padStart(9)}`);
  console.log(`${'sum of the floor stages'.padEnd(66)} ${total(floorRows, 'ns_per_op').toFixed(0).padStart(8)} ${''.padStart(22)} ${total(floorRows, 'bytes_per_op').toFixed(0).padStart(9)}`);
}
