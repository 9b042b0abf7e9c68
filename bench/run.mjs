#!/usr/bin/env node
/**
 * flex-auth benchmark suite: one command, `npm run bench` (from the repository root), or
 * `node bench/run.mjs [flags]`.
 *
 * Phases (--phases, default checks,scale,profile; `all` adds reload and overhead):
 *   checks    POST /v1/check throughput, latency and server CPU per request at 32 connections,
 *             for every target at every registry size, all servers up at once, in interleaved
 *             rounds in a balanced order (sizes rotate; each target runs after each other one
 *             equally often); every answer of the mix checked against its expected allow/deny
 *             (and reason and an allow's grant, where the target gives them) in a sweep before and after
 *             the rounds, and in every window too with --check-windows (which makes wrk the
 *             bottleneck on two CPUs)
 *   scale     load + validate + compile of each registry size in a fresh process (median of a
 *             few), next to flex-auth's start-up time, RSS and throughput from `checks`
 *   reload    a 10,000-actor registry replaced (rename-save) twice under load; answers per 100 ms
 *   profile   a CPU profile of flex-auth serve under the same load, and its top functions
 *   overhead  bench/metrics-overhead.mjs (what metrics cost), with the same pinning
 *
 * Targets (--targets, default auto: flex-auth, node-http, koa, and cerbos when its binary is
 * installed): flex-auth (serve as deployed: its stdout is a pipe that a reader process drains),
 * node-http and koa (the floors), cerbos (installed on demand: `--targets ...,cerbos`).
 * --base-root DIR adds flex-auth-base, another checkout's build served the same way, so a
 * before/after comparison is one interleaved run.
 * Servers run on CPU 0 (taskset -c 0), wrk, the log pipe's reader and this runner on CPU 1.
 * Results go to bench/results/latest.{json,md} for a full default run, else to bench/results/runs/.
 *
 * Quick re-runs:
 *   npm run bench -- --targets flex-auth,node-http --sizes 10,100000 --duration 10 --phases checks
 *   npm run bench -- --phases profile --profile-size 10000
 *   npm run bench -- --phases scale --sizes 100000 --no-build
 *   npm run bench -- --flex-root /tmp/flex-auth-at-abc123     (another checkout's build)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const CACHE = path.join(BENCH, '.cache');
const RESULTS = path.join(BENCH, 'results');
// --flex-root: benchmark the flex-auth build in another checkout (a git worktree at another
// commit, say), so a run is not disturbed by rebuilds of this tree's dist/ and builds compare.
let FLEX_ROOT = ROOT;
let CLI = path.join(ROOT, 'dist', 'src', 'cli', 'index.js');
const ALL_TARGETS = ['flex-auth', 'flex-auth-base', 'node-http', 'koa', 'cerbos'];
const ALL_PHASES = ['checks', 'scale', 'reload', 'profile', 'overhead'];
const CERBOS_BIN = path.join(BENCH, 'node_modules', '@cerbos', 'cerbos-linux-x64', 'cerbos-linux-x64');

const DEFAULTS = {
  targets: 'auto', sizes: '10,1000,100000', phases: 'checks,scale,profile',
  // Eight rounds: the host's slow spells last tens of seconds and took two of four windows of one
  // target in several runs, which a median of four cannot outvote (docs/performance.md).
  duration: '5', warmup: '1', rounds: '8', connections: '32',
  'reload-size': '10000', 'reload-window': '16', 'profile-size': '1000', 'profile-duration': '10',
  'overhead-rounds': '6', 'cerbos-log-level': 'warn', 'server-cpu': '0', 'client-cpu': '1',
};

const { values: flags } = parseArgs({
  options: {
    ...Object.fromEntries(Object.entries(DEFAULTS).map(([k, v]) => [k, { type: 'string', default: v }])),
    out: { type: 'string' },
    'flex-root': { type: 'string' },
    'base-root': { type: 'string' },
    'no-install': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'check-windows': { type: 'boolean', default: false },
    'no-memory-limit': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0].replace(/^#!.*\n\/\*\*\n?/, '').replace(/^ \* ?/gm, ''));
  console.log(`Flags (defaults): ${Object.entries(DEFAULTS).map(([k, v]) => `--${k} ${v}`).join(' ')} [--out PREFIX] [--flex-root DIR] [--base-root DIR] [--check-windows] [--no-memory-limit] [--no-install] [--no-build]`);
  process.exit(0);
}

const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
// auto: Cerbos only when its ~100 MB binary is already installed, so the default run downloads nothing big.
const targets = flags.targets === 'auto'
  ? ['flex-auth', ...(flags['base-root'] ? ['flex-auth-base'] : []), 'node-http', 'koa', ...(existsSync(CERBOS_BIN) ? ['cerbos'] : [])]
  : list(flags.targets);
const sizes = list(flags.sizes).map(Number);
const phases = list(flags.phases).flatMap((p) => (p === 'all' ? ALL_PHASES : [p]));
for (const t of targets) if (!ALL_TARGETS.includes(t)) throw new Error(`unknown target ${t} (known: ${ALL_TARGETS.join(', ')})`);
for (const p of phases) if (!ALL_PHASES.includes(p)) throw new Error(`unknown phase ${p} (known: ${ALL_PHASES.join(', ')})`);
for (const s of sizes) if (!Number.isInteger(s) || s < 10) throw new Error(`sizes are whole numbers of actors, at least 10 (got ${s})`);
if (targets.includes('flex-auth-base') && !flags['base-root']) throw new Error('target flex-auth-base needs --base-root DIR (a built checkout to compare with)');
const num = (k) => Number(flags[k]);
const BASE_ROOT = flags['base-root'] ? path.resolve(flags['base-root']) : null;
if (flags['flex-root']) {
  FLEX_ROOT = path.resolve(flags['flex-root']);
  CLI = path.join(FLEX_ROOT, 'dist', 'src', 'cli', 'index.js');
}
// Only a run of this checkout's build with every default replaces results/latest.*: another
// build, a base beside it, or windows checked by wrk's Lua hook measure something else.
const isDefaultRun = Object.entries(DEFAULTS).every(([k, v]) => flags[k] === v)
  && !flags['check-windows'] && !flags['flex-root'] && !flags['base-root'] && !flags['no-memory-limit'];

const log = (...args) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);

// ------------------------------------------------------------------------------------------
// Setup: dependencies, build, wrk.

function sh(command, args, options = {}) {
  log(`$ ${command} ${args.join(' ')}`);
  const r = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${r.status})`);
}

function install() {
  if (!existsSync(path.join(FLEX_ROOT, 'node_modules'))) sh('npm', ['ci', '--no-audit', '--no-fund'], { cwd: FLEX_ROOT });
  if (!flags['no-build']) sh('npm', ['run', 'build', '--silent'], { cwd: FLEX_ROOT });
  const marker = path.join(BENCH, 'node_modules', '.package-lock.json');
  const wantCerbos = targets.includes('cerbos');
  if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(path.join(BENCH, 'package-lock.json')).mtimeMs || (wantCerbos && !existsSync(CERBOS_BIN))) {
    // Cerbos is an optional dependency: fetched only for a run that measures it.
    sh('npm', ['ci', '--no-audit', '--no-fund', ...(wantCerbos ? [] : ['--omit=optional'])], { cwd: BENCH });
  }
  if (spawnSync('wrk', ['-v']).error) {
    const root = process.getuid?.() === 0;
    if (!root || spawnSync('apt-get', ['--version']).error) throw new Error('wrk is missing: install it (Debian: apt-get install wrk)');
    sh('apt-get', ['update', '-qq']);
    sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'wrk'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
}

if (!flags['no-install']) install();
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);

// Imported after the install step (they need nothing from npm, but keep the order obvious).
const { cpuBusy, cpuCount, cpuTimes, deployedMemoryLimit, deployedNodeFlags, freePort, hasTaskset, killAll, memory, memoryCgroup, pinSelf, processCpuMicros, startLogPipe, startPinned, stop, waitReady } = await import('./lib/proc.mjs');
const { runWrk, wrkVersion } = await import('./lib/wrk.mjs');
// Read once: every start of a build uses its image's Node flags, and the report names them.
const NODE_FLAGS = { 'flex-auth': deployedNodeFlags(FLEX_ROOT), ...(BASE_ROOT ? { 'flex-auth-base': deployedNodeFlags(BASE_ROOT) } : {}) };
const { ensureData, ensureReloadData } = await import('./lib/data.mjs');
const { model, oracle } = await import('./lib/mix.mjs');
const { median, schedule } = await import('./lib/stats.mjs');
const { writeReport, evaluateGoals } = await import('./lib/report.mjs');
const { summarize: summarizeProfile, formatSummary, mainThreadProfile } = await import('./profile-summary.mjs');

process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});
process.on('exit', killAll);

const cpus = cpuCount();
const pinned = hasTaskset() && cpus >= 2;
const SERVER_CPU = pinned ? num('server-cpu') : null;
const CLIENT_CPU = pinned ? num('client-cpu') : null;
if (pinned) pinSelf(CLIENT_CPU);
else log(`WARNING: ${cpus} CPU(s)${hasTaskset() ? '' : ', no taskset'}: servers and load are NOT pinned apart; figures are not comparable with pinned runs`);

// As deployed, a flex-auth server runs under its chart's memory limit, from which Node sizes its
// heap: each in a memory cgroup of its own with that limit, when this host lets the runner make
// one (root, and a writable cgroup); otherwise the run says so. The floors have no limit.
const MEMORY_LIMIT = (() => {
  const bytes = deployedMemoryLimit(FLEX_ROOT);
  if (flags['no-memory-limit']) return { bytes, applied: false, reason: '--no-memory-limit' };
  const probe = memoryCgroup(bytes, 'probe');
  if (probe.reason) return { bytes, applied: false, reason: probe.reason };
  probe.remove();
  return { bytes, applied: true };
})();
if (!MEMORY_LIMIT.applied) log(`WARNING: flex-auth runs WITHOUT its pod's memory limit (${MEMORY_LIMIT.bytes / 2 ** 20} MiB): ${MEMORY_LIMIT.reason}; Node then sizes its heap from the host's memory`);

const LOGS = path.join(CACHE, 'logs');
mkdirSync(LOGS, { recursive: true });

function gitInfo() {
  const rev = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: FLEX_ROOT, encoding: 'utf8' }).stdout.trim() || null;
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src', 'package-lock.json'], { cwd: FLEX_ROOT, encoding: 'utf8' }).stdout.trim() !== '';
  const base = BASE_ROOT && spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: BASE_ROOT, encoding: 'utf8' }).stdout.trim();
  return {
    commit: rev, src_dirty: dirty, flex_root: FLEX_ROOT === ROOT ? '.' : FLEX_ROOT, node_flags: NODE_FLAGS['flex-auth'], memory_limit: MEMORY_LIMIT,
    ...(BASE_ROOT ? { base_root: BASE_ROOT, base_commit: base || null, base_node_flags: NODE_FLAGS['flex-auth-base'] } : {}),
  };
}

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const cerbos = spawnSync(CERBOS_BIN, ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0]?.trim() || null;
  return {
    cpu_model: model, cpus, memory_gib: os.totalmem() / 2 ** 30, kernel: os.release(), os: readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]+)/m)?.[1] ?? os.platform(),
    node: process.version, wrk: wrkVersion(), cerbos, pinned, server_cpu: SERVER_CPU, client_cpu: CLIENT_CPU,
    loadavg_at_start: os.loadavg(),
  };
}

// ------------------------------------------------------------------------------------------
// Results: written after every measurement, so an interrupted run keeps what it measured.

const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, '-').slice(0, 19);
const outPrefix = flags.out
  ? path.resolve(flags.out)
  : isDefaultRun ? path.join(RESULTS, 'latest') : path.join(RESULTS, 'runs', `${stamp}`);
mkdirSync(path.dirname(outPrefix), { recursive: true });

const results = {
  started_at: startedAt.toISOString(),
  finished_at: null,
  complete: false,
  git: gitInfo(),
  machine: machine(),
  settings: {
    targets, sizes, phases, duration_s: num('duration'), warmup_s: num('warmup'), rounds: num('rounds'), connections: num('connections'),
    reload_size: num('reload-size'), reload_window_s: num('reload-window'), profile_size: num('profile-size'),
    profile_duration_s: num('profile-duration'), cerbos_log_level: flags['cerbos-log-level'], full_default_run: isDefaultRun,
    flex_stdout: 'a pipe drained by a reader process (cat, on the load CPU)',
  },
  data: {},
  checks: { servers: [], sweeps: [], runs: [] },
  scale: [],
  reload: null,
  profile: null,
  profile_base: null,
  overhead: null,
  goals: [],
};

function save() {
  results.goals = evaluateGoals(results);
  writeFileSync(`${outPrefix}.json.tmp`, JSON.stringify(results, null, 2));
  renameSync(`${outPrefix}.json.tmp`, `${outPrefix}.json`);
  writeReport(results, `${outPrefix}.md`);
}

// ------------------------------------------------------------------------------------------
// Targets.

function mixFor(target, data) {
  return target === 'cerbos'
    ? { tsv: data.cerbosTsv, mode: 'cerbos', reasons: false }
    : { tsv: data.flexTsv, mode: 'flex', reasons: true, registryFile: data.registryFile };
}

// The sweeps read each allow's grant against the oracle's, so they need the registry's model.
const models = new Map();
function modelOf(registryFile) {
  if (!models.has(registryFile)) models.set(registryFile, model(JSON.parse(readFileSync(registryFile, 'utf8'))));
  return models.get(registryFile);
}

const sameGrant = (got, want) => got?.ttl_seconds === want.ttl_seconds
  && Array.isArray(got.principals) && got.principals.join('\n') === want.principals.join('\n');

async function startTarget(target, data, extra = {}) {
  const port = await freePort();
  const name = `${target}${data ? `-n${data.size}` : ''}`;
  const stderrFile = path.join(LOGS, `${name}.stderr.log`);
  rmSync(stderrFile, { force: true });
  let child;
  let readyPath;
  let pipe = null;
  let cgroup = null;
  if (target === 'flex-auth' || target === 'flex-auth-base') {
    // As deployed: stdout (the decision log) is a pipe drained by another process, unless the
    // caller needs the lines back (the reload phase reads its log); the pod's memory limit.
    pipe = extra.stdoutFile ? null : startLogPipe(CLIENT_CPU);
    if (MEMORY_LIMIT.applied) {
      cgroup = memoryCgroup(MEMORY_LIMIT.bytes, name);
      if (cgroup.reason) throw new Error(`${name}: no memory cgroup, though the probe made one: ${cgroup.reason}`);
    }
    const root = target === 'flex-auth' ? FLEX_ROOT : BASE_ROOT;
    child = startPinned({
      cpu: SERVER_CPU, command: process.execPath,
      args: [...NODE_FLAGS[target], ...(extra.nodeArgs ?? []), path.join(root, 'dist', 'src', 'cli', 'index.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--registry-file', extra.registryFile ?? data.registryFile],
      cwd: root, cgroupProcs: cgroup?.procs, stdoutFd: pipe?.fd, stdoutFile: extra.stdoutFile, stderrFile,
    });
    pipe?.close();
    readyPath = '/readyz';
  } else if (target === 'node-http' || target === 'koa') {
    child = startPinned({
      cpu: SERVER_CPU, command: process.execPath,
      args: [path.join(BENCH, 'servers', `${target}.mjs`), '--port', String(port), '--registry-file', data.registryFile],
      cwd: BENCH, stderrFile,
    });
    readyPath = '/readyz';
  } else if (target === 'cerbos') {
    const grpc = await freePort();
    const debug = await freePort();
    child = startPinned({
      cpu: SERVER_CPU, command: CERBOS_BIN,
      args: ['server', `--config=${path.join(BENCH, 'cerbos', 'config.yaml')}`, `--debug-listen-addr=127.0.0.1:${debug}`, `--log-level=${flags['cerbos-log-level']}`],
      cwd: BENCH, stderrFile, stdoutFile: stderrFile,
      env: { CERBOS_NO_TELEMETRY: '1', BENCH_CERBOS_HTTP_PORT: String(port), BENCH_CERBOS_GRPC_PORT: String(grpc), BENCH_CERBOS_POLICY_DIR: path.join(BENCH, 'cerbos', 'policies') },
    });
    readyPath = '/_cerbos/health';
  }
  const url = `http://127.0.0.1:${port}`;
  const readySeconds = await waitReady(child, `${url}${readyPath}`);
  return { target, name, child, pipe, cgroup, pid: child.pid, url, readySeconds };
}

async function stopTarget(server, graceMs) {
  await stop(server.child, graceMs);
  server.pipe?.stop();
  server.cgroup?.remove();
}

/** Every request of the mix once (16 at a time): the answers must be the expected ones. */
async function sweep(server, mix) {
  const lines = readFileSync(mix.tsv, 'utf8').split('\n').filter(Boolean);
  const out = { checked: 0, mismatches: 0, reason_mismatches: 0, grant_mismatches: 0, non200: 0, examples: [] };
  const m = mix.registryFile ? modelOf(mix.registryFile) : null;
  let next = 0;
  const worker = async () => {
    while (next < lines.length) {
      const [i, allow, reason, urlPath, body] = lines[next++].split('\t');
      let response;
      let text;
      try {
        response = await fetch(`${server.url}${urlPath}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': `bq-${i}` }, body });
        text = await response.text();
      } catch (error) {
        out.checked += 1;
        out.non200 += 1;
        if (out.examples.length < 3) out.examples.push({ i, error: String(error.cause ?? error) });
        continue;
      }
      out.checked += 1;
      if (response.status !== 200) {
        out.non200 += 1;
        if (out.examples.length < 3) out.examples.push({ i, status: response.status, text: text.slice(0, 200) });
        continue;
      }
      const answer = mix.mode === 'cerbos' ? null : JSON.parse(text);
      const got = answer === null ? text.includes('EFFECT_ALLOW') : answer.allow === true;
      if (got !== (allow === '1')) {
        out.mismatches += 1;
        if (out.examples.length < 3) out.examples.push({ i, expected: reason, text: text.slice(0, 200) });
      } else if (mix.reasons && answer.reason !== reason) {
        out.reason_mismatches += 1;
        if (out.examples.length < 3) out.examples.push({ i, expected: reason, text: text.slice(0, 200) });
      } else if (m && allow === '1') {
        const want = oracle(m, JSON.parse(body)).grant;
        if (!sameGrant(answer.grant, want)) {
          out.grant_mismatches += 1;
          if (out.examples.length < 3) out.examples.push({ i, expected: want, text: text.slice(0, 300) });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return out;
}

async function measure(server, mix, seconds, extra = {}) {
  const before = processCpuMicros(server.pid);
  const cpusBefore = cpuTimes();
  const r = await runWrk({ url: server.url, ...mix, seconds, connections: num('connections'), cpu: CLIENT_CPU, check: flags['check-windows'], ...extra });
  const after = processCpuMicros(server.pid);
  const cpu = after.total - before.total;
  const busy = cpuBusy(cpusBefore, cpuTimes());
  const perRequest = (us) => (r.requests ? us / r.requests : null);
  return {
    ...r,
    server_cpu_us_per_req: perRequest(cpu),
    server_user_us_per_req: perRequest(after.user - before.user),
    server_system_us_per_req: perRequest(after.system - before.system),
    // The server's own CPU use, and how busy each CPU was (anything on the machine) in the window.
    server_cpu_share: cpu / (r.seconds * 1e6),
    server_cpu_busy: SERVER_CPU === null ? null : busy[SERVER_CPU] ?? null,
    client_cpu_busy: CLIENT_CPU === null ? null : busy[CLIENT_CPU] ?? null,
  };
}

const fmtRun = (r) => `${r.rps.toFixed(0)} req/s, p50 ${(r.latency_us.p50 / 1000).toFixed(2)} ms, p99 ${(r.latency_us.p99 / 1000).toFixed(2)} ms, `
  + `${r.server_cpu_us_per_req?.toFixed(0)} us CPU/req (server ${(100 * r.server_cpu_share).toFixed(0)} % of a CPU; CPU busy: servers' ${r.server_cpu_busy === null ? '?' : (100 * r.server_cpu_busy).toFixed(0)} %, load's ${r.client_cpu_busy === null ? '?' : (100 * r.client_cpu_busy).toFixed(0)} %), `
  + `${r.checked} checked, ${r.failed} wrong/failed`;

// ------------------------------------------------------------------------------------------
// Phase: checks.

async function phaseChecks(dataBySize) {
  const servers = new Map(); // `${target}@${size}` -> server
  const key = (t, s) => `${t}@${t === 'cerbos' ? 'any' : s}`;
  try {
    // One at a time, smallest first, so start-up times are not shared with another start-up.
    for (const size of sizes) {
      for (const target of targets) {
        if (servers.has(key(target, size))) continue;
        const server = await startTarget(target, target === 'cerbos' ? null : dataBySize.get(size));
        servers.set(key(target, size), server);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const entry = { target, size: target === 'cerbos' ? null : size, ready_s: server.readySeconds, after_load: memory(server.pid) };
        results.checks.servers.push(entry);
        server.entry = entry;
        log(`${server.name} ready in ${server.readySeconds.toFixed(2)} s, RSS ${entry.after_load.rss_mib.toFixed(0)} MiB`);
      }
    }
    for (const size of sizes) {
      for (const target of targets) {
        const server = servers.get(key(target, size));
        const s = await sweep(server, mixFor(target, dataBySize.get(size)));
        results.checks.sweeps.push({ target, size, ...s });
        log(`sweep ${target} n=${size}: ${s.checked} answers, ${s.mismatches} wrong allow/deny, ${s.reason_mismatches} wrong reason, ${s.grant_mismatches} wrong grant, ${s.non200} non-200`);
      }
    }
    save();
    const rounds = num('rounds');
    for (let round = 0; round < rounds; round += 1) {
      for (const { size, target } of schedule(sizes, targets, round)) {
        const server = servers.get(key(target, size));
        const mix = mixFor(target, dataBySize.get(size));
        // A warm-up's failed answers count too: they are answers the target got wrong.
        const warmupFailed = num('warmup') > 0 ? (await measure(server, mix, num('warmup'))).failed : 0;
        const r = await measure(server, mix, num('duration'));
        delete r.buckets;
        results.checks.runs.push({ round: round + 1, size, target, ...r, warmup_failed: warmupFailed });
        log(`round ${round + 1}/${rounds} n=${size} ${target}: ${fmtRun(r)}${warmupFailed ? `; ${warmupFailed} wrong/failed in its warm-up` : ''}`);
        save();
      }
    }
    for (const server of servers.values()) server.entry.after_runs = memory(server.pid);
    // The whole mix again, from servers that have answered every round: still the expected answers.
    for (const size of sizes) {
      for (const target of targets) {
        const s = await sweep(servers.get(key(target, size)), mixFor(target, dataBySize.get(size)));
        results.checks.sweeps.push({ target, size, after_rounds: true, ...s });
        log(`sweep after the rounds ${target} n=${size}: ${s.checked} answers, ${s.mismatches} wrong allow/deny, ${s.reason_mismatches} wrong reason, ${s.grant_mismatches} wrong grant, ${s.non200} non-200`);
      }
    }
  } finally {
    await Promise.all([...servers.values()].map((s) => stopTarget(s)));
  }
  save();
}

// ------------------------------------------------------------------------------------------
// Phase: scale (in-process load timings).

async function phaseScale(dataBySize) {
  for (const size of sizes) {
    const data = dataBySize.get(size);
    const r = spawnSync(SERVER_CPU === null ? process.execPath : 'taskset',
      [...(SERVER_CPU === null ? [] : ['-c', String(SERVER_CPU), process.execPath]), '--expose-gc', path.join(BENCH, 'scale', 'load-timing.mjs'), '--root', FLEX_ROOT, '--file', data.registryFile, '--repeat', '5', '--budget', '40'],
      { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`load timing for ${size} failed: ${r.stderr}`);
    const timing = JSON.parse(r.stdout.trim().split('\n').pop());
    results.scale.push({ size, registry_mib: data.registryBytes / 1048576, ...timing, file: path.relative(ROOT, timing.file) });
    log(`load+validate+compile n=${size}: median ${timing.median_ms.toFixed(0)} ms of ${timing.runs} (first ${timing.first_ms.toFixed(0)} ms); steps ${JSON.stringify(Object.fromEntries(Object.entries(timing.steps).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v) : v])))}`);
    save();
  }
}

// ------------------------------------------------------------------------------------------
// Phase: reload under load.

/**
 * The dip a swap causes, and what else the window shows. `dip_ms` is the run of consecutive
 * buckets below 80 % of the pre-swap median that holds the reload (the bucket the service logged
 * it in, or one beside it): the drop the reload itself makes. `below_threshold_ms` counts every
 * such bucket in the 4 s after the swap, stretches of noise included; `noise_..._before_ms` shows
 * how much of that the machine produces with no reload at all.
 */
function analyseDip(buckets, swapAt, nextSwapAt, firstBucket, lastBucket, bucketMs, reloadAt) {
  const at = (b) => buckets.get(b) ?? 0;
  const swapBucket = Math.floor(swapAt / bucketMs);
  const before = [];
  for (let b = Math.max(firstBucket + 1, swapBucket - Math.round(3000 / bucketMs)); b < swapBucket; b += 1) before.push(at(b));
  const baseline = median(before);
  const threshold = 0.8 * baseline;
  const end = Math.min(lastBucket - 1, Math.floor(nextSwapAt / bucketMs) - 1, swapBucket + Math.round(4000 / bucketMs));
  let below = 0;
  let run = 0;
  let longest = 0;
  let lastBelow = null;
  let lowest = Infinity;
  for (let b = swapBucket; b <= end; b += 1) {
    const v = at(b);
    lowest = Math.min(lowest, v);
    if (v < threshold) {
      below += 1;
      run += 1;
      longest = Math.max(longest, run);
      lastBelow = b;
    } else {
      run = 0;
    }
  }
  const noise = before.filter((v) => v < threshold).length;
  let dip = 0;
  if (reloadAt !== null) {
    const isBelow = (b) => b >= swapBucket && b <= end && at(b) < threshold;
    const reloadBucket = Math.floor(reloadAt / bucketMs);
    const seed = [reloadBucket, reloadBucket - 1, reloadBucket + 1].find(isBelow);
    if (seed !== undefined) {
      let from = seed;
      let to = seed;
      while (isBelow(from - 1)) from -= 1;
      while (isBelow(to + 1)) to += 1;
      dip = to - from + 1;
    }
  }
  return {
    dip_ms: dip * bucketMs,
    baseline_per_bucket: baseline,
    threshold_per_bucket: threshold,
    buckets_after: end - swapBucket + 1,
    below_threshold_ms: below * bucketMs,
    longest_below_ms: longest * bucketMs,
    recovered_after_ms: lastBelow === null ? 0 : (lastBelow + 1) * bucketMs - swapAt,
    lowest_ratio: baseline ? lowest / baseline : null,
    noise_below_threshold_before_ms: noise * bucketMs,
  };
}

async function phaseReload() {
  const size = num('reload-size');
  const data = ensureReloadData({ cacheDir: CACHE, root: FLEX_ROOT, size, log });
  const dir = path.join(CACHE, 'reload-run');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const registryFile = path.join(dir, 'registry.json');
  copyFileSync(data.registryA, registryFile);
  const stdoutFile = path.join(dir, 'serve.stdout.log');
  const server = await startTarget('flex-auth', { size, registryFile }, { registryFile, stdoutFile });
  const mix = { tsv: data.flexTsv, mode: 'flex', reasons: true, registryFile: data.registryA };
  const bucketMs = 100;
  const windowS = num('reload-window');
  const swaps = [];
  try {
    const s = await sweep(server, mix);
    if (s.mismatches || s.non200 || s.reason_mismatches || s.grant_mismatches) log(`WARNING reload sweep: ${JSON.stringify(s)}`);
    await measure(server, mix, Math.max(2, num('warmup')));
    const swapDelays = [windowS * 1000 * 0.3, windowS * 1000 * 0.65];
    const texts = [readFileSync(data.registryB), readFileSync(data.registryA)];
    const wrkStarted = Date.now();
    const run = measure(server, mix, windowS, { bucketMs, check: true });
    const swapping = swapDelays.map((delay, i) => new Promise((resolve) => setTimeout(() => {
      const at = Date.now();
      writeFileSync(`${registryFile}.tmp`, texts[i]);
      renameSync(`${registryFile}.tmp`, registryFile);
      swaps.push({ at, to: i === 0 ? 'B' : 'A', revision: data.revisions[i === 0 ? 'b' : 'a'], write_ms: Date.now() - at });
      resolve();
    }, delay)));
    const r = await run;
    await Promise.all(swapping);
    const registryNow = await (await fetch(`${server.url}/v1/registry`)).json();
    // The reloads as the service logged them.
    const loaded = readFileSync(stdoutFile, 'utf8').split('\n').filter((l) => l.includes('"registry loaded"')).map((l) => JSON.parse(l));
    const buckets = new Map(Object.entries(r.buckets).map(([k, v]) => [Number(k), v]));
    const keys = [...buckets.keys()].sort((a, b) => a - b);
    const first = keys[0];
    const last = keys[keys.length - 1];
    const series = [];
    for (let b = first; b <= last; b += 1) series.push(buckets.get(b) ?? 0);
    const dips = swaps.map((swap, i) => {
      const next = swaps[i + 1]?.at ?? (last + 1) * bucketMs;
      const logged = loaded.find((l) => l.revision === swap.revision && Date.parse(l.time) >= swap.at - 50);
      return {
        to: swap.to,
        offset_ms: swap.at - first * bucketMs,
        reload_logged_after_ms: logged ? Date.parse(logged.time) - swap.at : null,
        ...analyseDip(buckets, swap.at, next, first, last, bucketMs, logged ? Date.parse(logged.time) : null),
      };
    });
    delete r.buckets;
    results.reload = {
      size, window_s: windowS, bucket_ms: bucketMs, renamed_actors: data.renamedActors,
      revisions: data.revisions, final_revision: registryNow.revision, reloads_logged: loaded.length - 1,
      wrk_started_offset_ms: wrkStarted - first * bucketMs, run: r, swaps: dips, series_first_bucket_ms: first * bucketMs, series,
      failed: r.failed, errors: r.errors, sweep: s,
    };
    log(`reload n=${size}: ${r.rps.toFixed(0)} req/s over ${windowS} s, ${r.failed} wrong/failed; ` + dips.map((d) => `swap to ${d.to}: reload logged after ${d.reload_logged_after_ms} ms, dip ${d.dip_ms} ms, below 80 % for ${d.below_threshold_ms} ms in 4 s (longest ${d.longest_below_ms} ms, lowest ${(100 * (d.lowest_ratio ?? 0)).toFixed(0)} %)`).join('; '));
  } finally {
    await stopTarget(server);
    rmSync(stdoutFile, { force: true });
  }
  save();
}

// ------------------------------------------------------------------------------------------
// Phase: CPU profile of flex-auth serve under the mix.

async function phaseProfile(target) {
  const size = num('profile-size');
  const data = ensureData({ cacheDir: CACHE, root: FLEX_ROOT, size, log });
  const dir = path.join(RESULTS, 'profiles', `${stamp}-${target}`);
  mkdirSync(dir, { recursive: true });
  const spawnedAt = Date.now();
  const server = await startTarget(target, data, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=500'] });
  const mix = mixFor('flex-auth', data);
  let r;
  const window = {};
  try {
    await measure(server, mix, Math.max(2, num('warmup')));
    window.fromMs = Date.now() - spawnedAt;
    r = await measure(server, mix, num('profile-duration'));
    window.toMs = Date.now() - spawnedAt;
  } finally {
    await stopTarget(server, 30_000);
  }
  const file = mainThreadProfile(readdirSync(dir).map((f) => path.join(dir, f)));
  if (!file) throw new Error(`no main thread .cpuprofile in ${dir}`);
  // Only the measurement window: start-up, the registry load and the warm-up are left out.
  const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), 25, { ...window, requests: r.requests });
  delete r.buckets;
  const key = target === 'flex-auth' ? 'profile' : 'profile_base';
  results[key] = {
    target, size, duration_s: num('profile-duration'), file: path.relative(ROOT, file), window_ms: window, run: r, summary, text: formatSummary(summary),
    command: `node bench/profile-summary.mjs ${path.relative(ROOT, file)} --from-ms ${window.fromMs} --to-ms ${window.toMs} --requests ${r.requests}`,
  };
  // Beside this run's results: only the default run replaces the committed summary, as it does latest.*.
  const summaryFile = outPrefix === path.join(RESULTS, 'latest') ? path.join(RESULTS, 'profile-summary.txt') : `${outPrefix}.profile-summary.txt`;
  if (target === 'flex-auth') writeFileSync(summaryFile, `${results.profile.text}\n`);
  log(`profile of ${target} n=${size} (${r.rps.toFixed(0)} req/s while profiling): ${path.relative(ROOT, file)}\n${results[key].text}`);
  save();
}

// ------------------------------------------------------------------------------------------
// Phase: metrics overhead (bench/metrics-overhead.mjs).

async function phaseOverhead() {
  const args = [path.join(BENCH, 'metrics-overhead.mjs'), '--root', FLEX_ROOT, '--rounds', flags['overhead-rounds'], '--duration', '3', '--warmup', '3', '--connections', flags.connections];
  if (SERVER_CPU !== null) args.push('--server-cpu', String(SERVER_CPU));
  const r = spawnSync(CLIENT_CPU === null ? process.execPath : 'taskset', [...(CLIENT_CPU === null ? [] : ['-c', String(CLIENT_CPU), process.execPath]), ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24 });
  const text = `${r.stdout}${r.stderr}`.trim();
  const grab = (re) => Number(re.exec(text)?.[1] ?? NaN);
  results.overhead = {
    exit_code: r.status,
    throughput_ratio_with_without: grab(/ratio with\/without \(medians\):\s+([\d.]+)/),
    cpu_per_request_ratio: grab(/server CPU per request, median: .* ratio ([\d.]+)/),
    text,
  };
  if (r.status !== 0) log(`WARNING: bench/metrics-overhead.mjs failed (exit ${r.status})`);
  log(`metrics overhead:\n${text}`);
  save();
}

// ------------------------------------------------------------------------------------------

const t0 = Date.now();
log(`targets ${targets.join(',')}; sizes ${sizes.join(',')}; phases ${phases.join(',')}; ${num('rounds')} rounds x (${num('warmup')} s warm-up + ${num('duration')} s); ${num('connections')} connections; results -> ${path.relative(ROOT, outPrefix)}.{json,md}`);
const dataBySize = new Map();
if (phases.includes('checks') || phases.includes('scale')) {
  for (const size of sizes) {
    const data = ensureData({ cacheDir: CACHE, root: FLEX_ROOT, size, log });
    dataBySize.set(size, data);
    results.data[size] = { registry_mib: data.registryBytes / 1048576, actors: data.actors, relationships: data.relationships, groups: data.groups, humans: data.humans, max_expanded_subjects: data.maxExpandedSubjects, revision: data.revision, mix: data.summary };
  }
}
save();
try {
  if (phases.includes('checks')) await phaseChecks(dataBySize);
  if (phases.includes('scale')) await phaseScale(dataBySize);
  if (phases.includes('reload')) await phaseReload();
  if (phases.includes('profile')) {
    // With --base-root, the base build is profiled the same way: a before/after breakdown.
    for (const target of BASE_ROOT ? ['flex-auth-base', 'flex-auth'] : ['flex-auth']) await phaseProfile(target);
  }
  if (phases.includes('overhead')) await phaseOverhead();
  results.complete = true;
} finally {
  results.finished_at = new Date().toISOString();
  results.machine.loadavg_at_end = os.loadavg();
  save();
  log(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min: ${path.relative(ROOT, outPrefix)}.json and .md`);
}
console.log(`\n${readFileSync(`${outPrefix}.md`, 'utf8')}`);
