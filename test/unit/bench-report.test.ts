// The benchmark's own arithmetic: the order rounds run in and how the report judges the goals.
// bench/ is plain JavaScript outside the build, so it is imported from the checkout.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { PACKAGE_ROOT } from '../helpers/paths.js';

const benchModule = (file: string) => import(pathToFileURL(path.join(PACKAGE_ROOT, 'bench', 'lib', file)).href);

interface Run { round: number; size: number; target: string; rps: number; cpu: number | null; failed?: number; warmupFailed?: number }

/** A results document with only what the report reads, one window per run given. */
function resultsOf(runs: Run[], extra: Record<string, unknown> = {}) {
  return {
    settings: { sizes: [...new Set(runs.map((r) => r.size))] },
    checks: {
      runs: runs.map((r) => ({
        round: r.round, size: r.size, target: r.target, rps: r.rps, requests: r.rps * 5,
        latency_us: { p50: 1000, p99: 2000 }, server_cpu_us_per_req: r.cpu, server_cpu_share: 0.9, client_cpu_busy: 0.5,
        checked: 0, mismatches: 0, reason_mismatches: 0, unmatched: 0, failed: r.failed ?? 0, warmup_failed: r.warmupFailed ?? 0,
      })),
      sweeps: [],
      servers: [],
    },
    scale: [],
    ...extra,
  };
}

const goalNamed = (goals: Array<{ goal: string }>, part: string) => {
  const found = goals.filter((g) => g.goal.includes(part));
  expect(found, `one goal named like "${part}"`).to.have.length(1);
  return found[0] as { goal: string; value: number; met: boolean | null; digits: number; detail: string };
};

describe('benchmark report', () => {
  // What runs right before a window can slow it (a server still busy, caches taken), so the
  // order must not keep one target after another: for each size, over a full design, every
  // ordered pair of targets is adjacent equally often, and every target runs first equally often.
  for (const targets of [['flex-auth', 'node-http', 'koa', 'cerbos'], ['flex-auth', 'node-http', 'koa']]) {
    it(`balances the order of ${targets.length} targets: each pair, each first, each round whole`, async () => {
      const { schedule } = await benchModule('stats.mjs');
      const sizes = [10, 1000, 100000];
      const design = targets.length % 2 === 0 ? targets.length : 2 * targets.length;
      const rounds = Array.from({ length: design }, (_, round) => schedule(sizes, targets, round) as Array<{ size: number; target: string }>);
      for (const order of rounds) {
        expect(order.map((p) => `${p.size}|${p.target}`).sort()).to.deep.equal(sizes.flatMap((s) => targets.map((t) => `${s}|${t}`)).sort());
      }
      for (const size of sizes) {
        const orders = rounds.map((order) => order.filter((p) => p.size === size).map((p) => p.target));
        for (let r = 1; r < orders.length; r += 1) expect(orders[r], `size ${size}, round ${r + 1} against round ${r}`).to.not.deep.equal(orders[r - 1]);
        const pairs = new Map<string, number>();
        const firsts = new Map<string, number>();
        for (const order of orders) {
          firsts.set(order[0]!, (firsts.get(order[0]!) ?? 0) + 1);
          for (let i = 1; i < order.length; i += 1) pairs.set(`${order[i - 1]}>${order[i]}`, (pairs.get(`${order[i - 1]}>${order[i]}`) ?? 0) + 1);
        }
        expect(pairs.size, `size ${size}: every ordered pair adjacent`).to.equal(targets.length * (targets.length - 1));
        expect(new Set(pairs.values()), `size ${size}: each pair equally often`).to.have.property('size', 1);
        expect(firsts.size).to.equal(targets.length);
        expect(new Set(firsts.values()), `size ${size}: each target first equally often`).to.have.property('size', 1);
      }
    });
  }

  it('pairs only rounds where both figures exist', async () => {
    const { ratios } = await benchModule('report.mjs');
    const results = resultsOf([
      { round: 1, size: 10, target: 'flex-auth', rps: 100, cpu: 30 }, { round: 1, size: 10, target: 'node-http', rps: 200, cpu: 20 },
      { round: 2, size: 10, target: 'flex-auth', rps: 100, cpu: null }, { round: 2, size: 10, target: 'node-http', rps: 200, cpu: 20 },
      { round: 3, size: 10, target: 'flex-auth', rps: 100, cpu: 36 }, { round: 3, size: 10, target: 'node-http', rps: 200, cpu: 20 },
    ]);
    const [row] = ratios(results);
    // Rounds 1 and 3 only: 1.5 and 1.8. A null read as 0 would make the median 1.5.
    expect(row.cpu_vs_node_http_paired).to.be.closeTo(1.65, 1e-9);
  });

  it('shows a ratio with the digits its verdict needs', async () => {
    const { evaluateGoals, renderMarkdown } = await benchModule('report.mjs');
    const results = resultsOf([
      { round: 1, size: 10, target: 'flex-auth', rps: 10000, cpu: 30 },
      { round: 1, size: 100000, target: 'flex-auth', rps: 8996, cpu: 33 },
    ]);
    const flat = goalNamed(evaluateGoals(results), 'at 100,000 actors / at 10');
    expect(flat.met).to.equal(false);
    expect(flat.digits).to.equal(4);
    expect(renderMarkdown({ ...results, machine: machine(), git: {}, started_at: '', goals: [flat], settings: { ...results.settings, targets: [] } })).to.include('| 0.8996 | >= 0.9 | **missed**');
  });

  it('gives a bootstrap interval that scales with the spread and is the same every time', async () => {
    const { bootstrapInterval, median } = await benchModule('stats.mjs');
    const items = [0.81, 0.97, 0.88, 1.04, 0.92, 0.79, 1.01, 0.9];
    const med = (xs: number[]) => median(xs) as number;
    const interval = bootstrapInterval(items, med) as [number, number];
    expect(bootstrapInterval(items, med)).to.deep.equal(interval);
    expect(interval[0]).to.be.at.least(Math.min(...items)).and.at.most(med(items));
    expect(interval[1]).to.be.at.least(med(items)).and.at.most(Math.max(...items));
    expect(interval[1] - interval[0], 'a median of eight such rounds is not known to 1 %').to.be.greaterThan(0.01);
    // Three times the spread about one centre: each resample's median moves with it, so the
    // interval is three times as wide, about the same centre.
    const wide = bootstrapInterval(items.map((x) => 0.9 + 3 * (x - 0.9)), med) as [number, number];
    expect(wide[0]).to.be.closeTo(0.9 + 3 * (interval[0] - 0.9), 1e-9);
    expect(wide[1]).to.be.closeTo(0.9 + 3 * (interval[1] - 0.9), 1e-9);
    expect(bootstrapInterval([0.9, 0.9, 0.9], med)).to.deep.equal([0.9, 0.9]);
    expect(bootstrapInterval([0.9], med)).to.equal(null);
  });

  it('draws a round\'s two sizes together for the flat goal\'s interval', async () => {
    const { evaluateGoals, flatInterval } = await benchModule('report.mjs');
    // The host's speed moves from round to round, but 100,000 actors is 0.8 of 10 in each: drawn
    // by round, every resample reads 0.8; drawn apart, the rounds' spread would widen it.
    const speeds = [9000, 12000, 10500, 7000, 11000, 9800];
    const runs = speeds.flatMap((speed, i) => [
      { round: i + 1, size: 10, target: 'flex-auth', rps: speed, cpu: 30 },
      { round: i + 1, size: 100000, target: 'flex-auth', rps: 0.8 * speed, cpu: 33 },
    ]);
    const [low, high] = flatInterval(resultsOf(runs), 'flex-auth') as [number, number];
    expect(low).to.be.closeTo(0.8, 1e-9);
    expect(high).to.be.closeTo(0.8, 1e-9);
    expect(goalNamed(evaluateGoals(resultsOf(runs)), 'at 100,000 actors / at 10').detail).to.include('90 % interval over the rounds 0.80-0.80');
    // Rounds missing one size pair nothing, and one round alone has no interval.
    expect(flatInterval(resultsOf(runs.slice(0, 3)), 'flex-auth')).to.equal(null);
  });

  it('splits the CPU goal into user and system time when the run recorded them', async () => {
    const { evaluateGoals } = await benchModule('report.mjs');
    const split = (user: number, system: number) => ({ server_user_us_per_req: user, server_system_us_per_req: system });
    const results = resultsOf([
      { round: 1, size: 10, target: 'flex-auth', rps: 100, cpu: 40 }, { round: 1, size: 10, target: 'node-http', rps: 200, cpu: 32 },
      { round: 2, size: 10, target: 'flex-auth', rps: 100, cpu: 50 }, { round: 2, size: 10, target: 'node-http', rps: 200, cpu: 36 },
    ]);
    const [f1, n1, f2, n2] = results.checks.runs;
    Object.assign(f1!, split(30, 10));
    Object.assign(n1!, split(12, 20));
    Object.assign(f2!, split(36, 14));
    Object.assign(n2!, split(14, 22));
    // Medians: flex-auth user 33, system 12; the floor user 13, system 21.
    const cpu = goalNamed(evaluateGoals(results), "CPU per check / bare node:http's");
    expect(cpu.detail).to.include('user 33.0 against 13.0 µs (2.54), system 12.0 against 21.0');
    // A run from before the split (the sum only) says nothing of it.
    for (const run of results.checks.runs) {
      delete (run as Record<string, unknown>).server_user_us_per_req;
      delete (run as Record<string, unknown>).server_system_us_per_req;
    }
    expect(goalNamed(evaluateGoals(results), "CPU per check / bare node:http's").detail).not.to.include('user');
  });

  it('reads a process\'s user and system time apart', async () => {
    const { processCpuMicros } = await benchModule('proc.mjs');
    const before = processCpuMicros(process.pid);
    // Busy in user space for a while: user time must move, and the sum stays the sum.
    const until = process.cpuUsage().user + 50_000;
    while (process.cpuUsage().user < until) Math.sqrt(Math.random());
    const after = processCpuMicros(process.pid);
    expect(after.user).to.be.greaterThan(before.user);
    expect(after.total).to.equal(after.user + after.system);
    expect(processCpuMicros(-1).total).to.be.NaN;
  });

  it('counts wrong answers in warm-ups and leaves Cerbos unjudged', async () => {
    const { evaluateGoals } = await benchModule('report.mjs');
    const goals = evaluateGoals(resultsOf([
      { round: 1, size: 10, target: 'flex-auth', rps: 10000, cpu: 30, warmupFailed: 2 },
      { round: 1, size: 10, target: 'cerbos', rps: 900, cpu: 400 },
    ]));
    const every = goalNamed(goals, 'every answer the expected one');
    expect(every.value).to.equal(2);
    expect(every.met).to.equal(false);
    expect(goalNamed(goals, 'throughput / Cerbos').met).to.equal(null);
  });

  it('counts a sweep\'s wrong grants', async () => {
    const { evaluateGoals } = await benchModule('report.mjs');
    const results = resultsOf([{ round: 1, size: 10, target: 'flex-auth', rps: 10000, cpu: 30 }]);
    results.checks.sweeps = [{ target: 'flex-auth', size: 10, checked: 4200, mismatches: 0, reason_mismatches: 0, grant_mismatches: 1, non200: 0 }] as never;
    expect(goalNamed(evaluateGoals(results), 'every answer the expected one').value).to.equal(1);
  });

  it('counts wrong answers while profiling', async () => {
    const { evaluateGoals } = await benchModule('report.mjs');
    const every = goalNamed(evaluateGoals(resultsOf([], { profile: { run: { failed: 3 } } })), 'every answer the expected one');
    expect(every.value).to.equal(3);
    expect(every.met).to.equal(false);
  });

  it('misses the reload goal when a swap never logged a reload, or the sweep before it was wrong', async () => {
    const { evaluateGoals } = await benchModule('report.mjs');
    const swap = (to: string, logged: number | null) => ({ to, dip_ms: 0, reload_logged_after_ms: logged, below_threshold_ms: 0, longest_below_ms: 0, noise_below_threshold_before_ms: 0 });
    const reload = (swaps: unknown[], sweepWrong: number) => ({
      size: 10000, failed: 0, errors: {}, swaps, sweep: { mismatches: sweepWrong, reason_mismatches: 0, non200: 0 },
    });
    const ok = evaluateGoals(resultsOf([], { reload: reload([swap('B', 40), swap('A', 38)], 0) }));
    expect(goalNamed(ok, 'the dip').met).to.equal(true);
    expect(goalNamed(ok, 'reload under load: failed or wrong').met).to.equal(true);

    const unlogged = goalNamed(evaluateGoals(resultsOf([], { reload: reload([swap('B', 40), swap('A', null)], 0) })), 'the dip');
    expect(unlogged.met).to.equal(false);
    expect(unlogged.detail).to.include('never logged as loaded: to A');

    const wrong = goalNamed(evaluateGoals(resultsOf([], { reload: reload([swap('B', 40), swap('A', 38)], 3) })), 'reload under load: failed or wrong');
    expect(wrong.value).to.equal(3);
    expect(wrong.met).to.equal(false);
  });

  it('says whether flex-auth ran under its pod\'s memory limit', async () => {
    const { renderMarkdown } = await benchModule('report.mjs');
    const render = (memoryLimit: unknown) => renderMarkdown({ ...resultsOf([]), machine: machine(), git: { memory_limit: memoryLimit }, started_at: '', goals: [], settings: { sizes: [], targets: [] } }) as string;
    const mib768 = 768 * 2 ** 20;
    expect(render({ bytes: mib768, applied: true })).to.include('each server in a memory cgroup of its own limited to the chart\'s 768 MiB');
    const without = render({ bytes: mib768, applied: false, reason: 'no memory cgroup found' });
    expect(without).to.include('**without** the chart\'s memory limit of 768 MiB (no memory cgroup found)');
    expect(without).not.to.include('memory cgroup of its own');
  });

  // A registry past the off-thread size loads in a worker, and `--cpu-prof` writes the worker a
  // profile of its own that sorts after the main thread's: the summary must read the main one.
  it('summarizes the main thread\'s profile, not a worker\'s', async () => {
    const { mainThreadProfile } = await import(pathToFileURL(path.join(PACKAGE_ROOT, 'bench', 'profile-summary.mjs')).href);
    const dir = mkdtempSync(path.join(tmpdir(), 'flex-auth-profiles-'));
    try {
      const script = [
        "const { Worker } = require('node:worker_threads');",
        "new Worker('function workerWork() { const end = Date.now() + 100; while (Date.now() < end); } workerWork();', { eval: true })",
        '  .on(\'exit\', function mainThreadWork() { const end = Date.now() + 100; while (Date.now() < end); });',
      ].join('\n');
      const run = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100', '-e', script], { encoding: 'utf8' });
      expect(run.status, run.stderr).to.equal(0);
      const files = readdirSync(dir).sort().map((f) => path.join(dir, f));
      expect(files, 'a profile for each thread').to.have.length(2);
      const chosen = mainThreadProfile(files) as string;
      expect(chosen).to.equal(files[0]);
      const names = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { nodes: Array<{ callFrame: { functionName: string } }> }).nodes.map((n) => n.callFrame.functionName);
      expect(names(chosen)).to.include('mainThreadWork').and.not.include('workerWork');
      expect(names(files[1] as string)).to.include('workerWork');
      expect(mainThreadProfile([files[1]])).to.equal(undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The CPU a window is charged comes from /proc/PID/stat of the pid the runner spawned: joining
  // the cgroup must not leave a shell in between. A plain file stands in for cgroup.procs.
  it('starts a server in its cgroup under the pid it was spawned with', async () => {
    const { startPinned } = await benchModule('proc.mjs');
    const dir = mkdtempSync(path.join(tmpdir(), 'flex-auth-procs-'));
    try {
      const procs = path.join(dir, 'cgroup.procs');
      const out = path.join(dir, 'out');
      const child = startPinned({ command: process.execPath, args: ['-e', 'console.log(process.pid)'], cgroupProcs: procs, stdoutFile: out });
      expect(await child.exited).to.deep.equal({ code: 0, signal: null });
      expect(readFileSync(procs, 'utf8').trim()).to.equal(String(child.pid));
      expect(readFileSync(out, 'utf8').trim()).to.equal(String(child.pid));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function machine() {
  return { cpu_model: 'test', cpus: 2, memory_gib: 1, os: 'test', kernel: 'test', node: 'test', wrk: 'test', cerbos: null, pinned: true, server_cpu: 0, client_cpu: 1, loadavg_at_start: [0, 0, 0] };
}
