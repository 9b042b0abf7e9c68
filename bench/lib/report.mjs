/** Aggregates a run's results, judges the goals, and writes the Markdown report. */
import { writeFileSync } from 'node:fs';
import { bootstrapInterval, fmt, max, median, min, ratio } from './stats.mjs';

const TARGET_LABEL = {
  'flex-auth': 'flex-auth serve (decision log to a pipe)', 'flex-auth-base': 'flex-auth serve, base build (--base-root)',
  'node-http': 'bare node:http (JSON parse + map lookups)', koa: 'bare Koa (JSON parse + map lookups)', cerbos: 'Cerbos 0.55',
};

/** A sweep's answers that were not the expected ones: status, allow/deny, reason or grant. */
const sweepWrong = (s) => s.mismatches + s.reason_mismatches + (s.grant_mismatches ?? 0) + s.non200;

/** The goals of issue 23, as ratios within one run. */
export const GOALS = { cpuVsNodeHttp: 1.5, throughputVsNodeHttp: 0.65, p99VsKoa: 1.2, flat: 0.9 };

export function aggregate(results) {
  const cells = new Map();
  for (const run of results.checks.runs) {
    const k = `${run.size}|${run.target}`;
    if (!cells.has(k)) cells.set(k, { size: run.size, target: run.target, runs: [] });
    cells.get(k).runs.push(run);
  }
  for (const cell of cells.values()) {
    const rs = cell.runs;
    cell.rps = median(rs.map((r) => r.rps));
    cell.rps_min = min(rs.map((r) => r.rps));
    cell.rps_max = max(rs.map((r) => r.rps));
    cell.p50_ms = median(rs.map((r) => r.latency_us.p50 / 1000));
    cell.p99_ms = median(rs.map((r) => r.latency_us.p99 / 1000));
    cell.cpu_us = median(rs.map((r) => r.server_cpu_us_per_req));
    // Runs before 2026-12-04 16:26 UTC recorded the sum only: these are null there.
    cell.user_us = median(rs.map((r) => r.server_user_us_per_req));
    cell.system_us = median(rs.map((r) => r.server_system_us_per_req));
    cell.server_share = median(rs.map((r) => r.server_cpu_share));
    cell.client_busy = median(rs.map((r) => r.client_cpu_busy));
    cell.checked = rs.reduce((s, r) => s + r.checked, 0);
    cell.mismatches = rs.reduce((s, r) => s + r.mismatches + r.reason_mismatches + r.unmatched, 0);
    cell.failed = rs.reduce((s, r) => s + r.failed + (r.warmup_failed ?? 0), 0);
    cell.requests = rs.reduce((s, r) => s + r.requests, 0);
    const sweeps = results.checks.sweeps.filter((s) => s.size === cell.size && s.target === cell.target);
    cell.sweep_wrong = sweeps.length ? sweeps.reduce((n, s) => n + sweepWrong(s), 0) : null;
    cell.sweep_checked = sweeps.reduce((n, s) => n + s.checked, 0);
    const server = results.checks.servers.find((s) => s.target === cell.target && (s.size === cell.size || s.size === null));
    cell.rss_after_load = server?.after_load?.rss_mib ?? null;
    cell.rss_after_runs = server?.after_runs?.rss_mib ?? null;
    cell.hwm = server?.after_runs?.hwm_mib ?? server?.after_load?.hwm_mib ?? null;
    cell.ready_s = server?.ready_s ?? null;
  }
  return cells;
}

/** Per-round ratio of a to b at one size (paired: same round, minutes apart at most). */
function pairedRatios(results, size, a, b, field) {
  const byRound = new Map();
  for (const r of results.checks.runs.filter((x) => x.size === size)) {
    if (!byRound.has(r.round)) byRound.set(r.round, {});
    byRound.get(r.round)[r.target] = r;
  }
  // A round where either figure is missing (no answers, no CPU reading) pairs nothing.
  return [...byRound.values()].filter((x) => x[a] && x[b]).map((x) => ratio(field(x[a]), field(x[b]))).filter((v) => v !== null);
}

/** "user U against U', system S against S' µs" of two cells, or '' when the run recorded no split. */
function cpuSplit(a, b) {
  if (a.user_us === null || !b || b.user_us === null) return '';
  return `user ${fmt(a.user_us, 1)} against ${fmt(b.user_us, 1)} µs (${fmt(a.user_us / b.user_us, 2)}), system ${fmt(a.system_us, 1)} against ${fmt(b.system_us, 1)}`;
}

export function ratios(results, subject = 'flex-auth') {
  const cells = aggregate(results);
  const get = (size, target) => cells.get(`${size}|${target}`);
  const out = [];
  for (const size of results.settings.sizes) {
    const flex = get(size, subject);
    if (!flex) continue;
    const nodeHttp = get(size, 'node-http');
    const koa = get(size, 'koa');
    const cerbos = get(size, 'cerbos');
    out.push({
      size,
      subject,
      vs_node_http: ratio(flex.rps, nodeHttp?.rps ?? null),
      vs_node_http_paired: median(pairedRatios(results, size, subject, 'node-http', (r) => r.rps)),
      vs_cerbos: ratio(flex.rps, cerbos?.rps ?? null),
      vs_cerbos_paired: median(pairedRatios(results, size, subject, 'cerbos', (r) => r.rps)),
      p99_vs_koa: ratio(flex.p99_ms, koa?.p99_ms ?? null),
      p99_vs_koa_paired: median(pairedRatios(results, size, subject, 'koa', (r) => r.latency_us.p99)),
      cpu_vs_node_http: ratio(flex.cpu_us, nodeHttp?.cpu_us ?? null),
      cpu_vs_node_http_paired: median(pairedRatios(results, size, subject, 'node-http', (r) => r.server_cpu_us_per_req)),
      split: cpuSplit(flex, nodeHttp),
    });
  }
  return out;
}

/**
 * A goal's row. `met` is null for a figure printed for comparison only. When the value rounded
 * to `digits` would read as the other verdict (0.8996 shown as 0.90 against >= 0.9), it is
 * shown with as many more digits as it takes to read as what it is.
 */
function goal(name, value, target, met, detail = '', digits = 2) {
  const bound = Number(/[\d.]+/.exec(target)?.[0]);
  let shown = digits;
  if (met !== null && typeof value === 'number' && Number.isFinite(bound)) {
    const metIf = (v) => (target.startsWith('>=') ? v >= bound : target.startsWith('<=') ? v <= bound : target.startsWith('<') ? v < bound : v === bound);
    while (shown < 6 && metIf(Number(value.toFixed(shown))) !== met) shown += 1;
  }
  return { goal: name, value, target, met, detail, digits: shown };
}

/** A target's throughput at 10 and at 100,000 actors in each round that measured both. */
function sizePairs(results, target) {
  const rpsAt = (size, round) => results.checks.runs.find((r) => r.target === target && r.size === size && r.round === round)?.rps;
  return [...new Set(results.checks.runs.map((r) => r.round))]
    .map((round) => ({ small: rpsAt(10, round), big: rpsAt(100000, round) }))
    .filter((pair) => Number.isFinite(pair.small) && Number.isFinite(pair.big));
}

/**
 * A target's throughput at 100,000 actors over 10, as the goal reads it (ratio of the rounds'
 * medians), with its 90 % bootstrap interval over the rounds: each round's two windows are drawn
 * together, so a round's slow spell stays paired. The goal's margin is 10 %; on a noisy host one
 * run's interval is often wider, and says whether a miss or a pass is more than the noise.
 */
export function flatInterval(results, target) {
  return bootstrapInterval(sizePairs(results, target), (sample) => median(sample.map((r) => r.big)) / median(sample.map((r) => r.small)));
}

const intervalText = (interval) => (interval ? `, 90 % interval over the rounds ${fmt(interval[0], 2)}-${fmt(interval[1], 2)}` : '');

export function evaluateGoals(results) {
  const goals = [];
  const cells = aggregate(results);
  for (const r of ratios(results)) {
    if (r.cpu_vs_node_http !== null) goals.push(goal(`${fmt(r.size)} actors: flex-auth CPU per check / bare node:http's`, r.cpu_vs_node_http, `<= ${GOALS.cpuVsNodeHttp}`, r.cpu_vs_node_http <= GOALS.cpuVsNodeHttp, `paired per round: ${fmt(r.cpu_vs_node_http_paired, 2)}${r.split ? `; ${r.split}` : ''}`));
    if (r.vs_node_http !== null) goals.push(goal(`${fmt(r.size)} actors: flex-auth throughput / bare node:http's`, r.vs_node_http, `>= ${GOALS.throughputVsNodeHttp}`, r.vs_node_http >= GOALS.throughputVsNodeHttp, `paired per round: ${fmt(r.vs_node_http_paired, 2)}`));
    if (r.p99_vs_koa !== null) goals.push(goal(`${fmt(r.size)} actors: flex-auth p99 / bare Koa's p99`, r.p99_vs_koa, `<= ${GOALS.p99VsKoa}`, r.p99_vs_koa <= GOALS.p99VsKoa, `paired per round: ${fmt(r.p99_vs_koa_paired, 2)}`));
    // Issue 23 set no goal against Cerbos (the goal is the floor); the ratio is printed beside them.
    if (r.vs_cerbos !== null) goals.push(goal(`${fmt(r.size)} actors: flex-auth throughput / Cerbos`, r.vs_cerbos, 'none (printed)', null, `paired per round: ${fmt(r.vs_cerbos_paired, 2)}`));
  }
  const small = cells.get('10|flex-auth');
  const big = cells.get('100000|flex-auth');
  if (small && big) {
    const flat = big.rps / small.rps;
    const paired = median(sizePairs(results, 'flex-auth').map((pair) => pair.big / pair.small));
    // The floor's own ratio, for scale: its map lookups miss the CPU caches at 100,000 actors too.
    const floorSmall = cells.get('10|node-http');
    const floorBig = cells.get('100000|node-http');
    const floor = floorSmall && floorBig
      ? `; bare node:http at 100,000 / at 10: ${fmt(floorBig.rps / floorSmall.rps, 2)}${intervalText(flatInterval(results, 'node-http'))} (CPU per check ${fmt(floorBig.cpu_us, 1)} against ${fmt(floorSmall.cpu_us, 1)} µs)`
      : '';
    goals.push(goal('flex-auth throughput at 100,000 actors / at 10', flat, `>= ${GOALS.flat}`, flat >= GOALS.flat, `paired per round: ${fmt(paired, 2)}${intervalText(flatInterval(results, 'flex-auth'))}; CPU per check ${fmt(big.cpu_us, 1)} against ${fmt(small.cpu_us, 1)} µs (${fmt(big.cpu_us / small.cpu_us, 2)})${floor}`));
  }
  const load = results.scale.find((s) => s.size === 100000);
  if (load) goals.push(goal('load + validate + compile of 100,000 actors (median, s)', load.median_ms / 1000, '< 2', load.median_ms < 2000, `${load.runs} runs; first ${fmt(load.first_ms / 1000, 2)} s`));
  const server = results.checks.servers.find((s) => s.target === 'flex-auth' && s.size === 100000);
  if (server) {
    const rss = Math.max(server.after_load?.rss_mib ?? 0, server.after_runs?.rss_mib ?? 0);
    goals.push(goal('flex-auth serve RSS with 100,000 actors (MiB, max of after load / after the runs)', rss, '< 300', rss < 300, `after load ${fmt(server.after_load?.rss_mib)}, after runs ${fmt(server.after_runs?.rss_mib)}, peak (VmHWM) ${fmt(server.after_runs?.hwm_mib ?? server.after_load?.hwm_mib)}`, 0));
  }
  if (results.reload) {
    const worst = max(results.reload.swaps.map((s) => s.dip_ms));
    // A swap the service never logged as loaded has no dip to read: that is a miss, not a 0 ms dip.
    const unlogged = results.reload.swaps.filter((s) => s.reload_logged_after_ms === null).map((s) => `to ${s.to}`);
    const detail = [
      ...(unlogged.length ? [`**never logged as loaded: ${unlogged.join(', ')}**`] : []),
      ...results.reload.swaps.map((s) => `to ${s.to}: dip ${s.dip_ms} ms; any time below 80 % in the 4 s after the swap ${s.below_threshold_ms} ms (longest run ${s.longest_below_ms} ms); below 80 % in the 3 s before, with no reload: ${s.noise_below_threshold_before_ms} ms`),
    ].join('; ');
    goals.push(goal(`reload of ${fmt(results.reload.size)} actors under load: the dip, consecutive time below 80 % of pre-swap throughput around the reload (worst swap, ms)`, worst, '<= 1000', worst <= 1000 && unlogged.length === 0, detail, 0));
    const sweep = results.reload.sweep;
    const reloadWrong = results.reload.failed + (sweep ? sweepWrong(sweep) : 0);
    goals.push(goal('reload under load: failed or wrong answers (the window and the sweep before it)', reloadWrong, '0', reloadWrong === 0, `window ${results.reload.failed}, sweep ${sweep ? sweepWrong(sweep) : 'n/a'}; errors ${JSON.stringify(results.reload.errors)}`, 0));
  }
  const profiled = [results.profile, results.profile_base].filter(Boolean);
  const wrong = results.checks.runs.reduce((s, r) => s + r.failed + (r.warmup_failed ?? 0), 0)
    + results.checks.sweeps.reduce((s, r) => s + sweepWrong(r), 0)
    + profiled.reduce((s, p) => s + p.run.failed, 0);
  if (results.checks.runs.length || profiled.length) {
    goals.push(goal('every answer the expected one (all targets, sweeps, windows and profiling)', wrong, '0', wrong === 0, profiled.length ? `while profiling: ${profiled.map((p) => p.run.failed).join(' / ')}` : '', 0));
  }
  return goals;
}

function pct(x) {
  return x === null || x === undefined ? 'n/a' : `${fmt(100 * x)} %`;
}

function yes(met) {
  return met === true ? 'met' : met === false ? '**missed**' : 'printed, not judged';
}

/** How the run held flex-auth to its pod's memory limit (runs before 2026-12-03 16:50 UTC recorded none). */
function memoryLimitText(limit) {
  if (!limit) return '';
  const mib = `${fmt(limit.bytes / 2 ** 20, 0)} MiB`;
  return limit.applied
    ? `, each server in a memory cgroup of its own limited to the chart's ${mib}, as in a pod`
    : `, **without** the chart's memory limit of ${mib} (${limit.reason}), so Node sized its heap from the host's memory`;
}

export function renderMarkdown(results) {
  const m = results.machine;
  const s = results.settings;
  const L = [];
  L.push('# flex-auth benchmark results');
  L.push('');
  L.push(`Run ${results.started_at} to ${results.finished_at ?? '(unfinished)'}${results.complete ? '' : ' — **incomplete run**'}; commit ${results.git.commit ?? '?'}${results.git.src_dirty ? ' with uncommitted changes in src/' : ''}`
    + `${results.git.node_flags ? `; flex-auth runs as its image does, \`node ${[...results.git.node_flags, 'dist/src/cli/index.js'].join(' ')} serve\`` : ''}`
    + `${memoryLimitText(results.git.memory_limit)}.`);
  L.push('');
  L.push(`Machine: ${m.cpu_model}, ${m.cpus} CPUs, ${fmt(m.memory_gib, 1)} GiB, ${m.os}, Linux ${m.kernel}; Node ${m.node}, wrk ${m.wrk}, ${m.cerbos ? `Cerbos ${m.cerbos}` : 'Cerbos not installed'}. `
    + (m.pinned ? `Servers pinned to CPU ${m.server_cpu}, wrk and the runner to CPU ${m.client_cpu}.` : '**Not pinned** (fewer than 2 CPUs or no taskset).')
    + ` Load average at start ${m.loadavg_at_start.map((x) => x.toFixed(2)).join(' ')}${m.loadavg_at_end ? `, at end ${m.loadavg_at_end.map((x) => x.toFixed(2)).join(' ')}` : ''}.`);
  L.push('');
  L.push(`Method: all servers up at once; wrk -t1 -c${s.connections}, loopback, ${s.rounds} interleaved rounds (sizes rotated, targets in a balanced order: each after each other equally often) of ${s.warmup_s} s warm-up + ${s.duration_s} s window per target and size; medians of the rounds. `
    + `flex-auth's stdout (the decision log): ${s.flex_stdout ?? '/dev/null'}. CPU per request: the server process's utime + stime (/proc/PID/stat) over the window / answers. `
    + 'Mix: 4,200 distinct checks, 70 % allows (own name, iam: subject, group members through nested groups) and 30 % denies, 180 for each of the 7 deny reasons; '
    + (results.checks.runs.some((r) => r.answers_checked === false)
      ? 'every answer of the mix checked against its expected allow/deny (and, for flex-auth and the floors, its reason and an allow\'s TTL and principals) in a sweep before and after the rounds; in the windows, wrk counts socket errors, timeouts and statuses >= 400 (no Lua response hook, which would make wrk the bottleneck). '
      : 'every answer in every window checked against its expected allow/deny (and reason, for flex-auth and the floors). ')
    + `Cerbos log level ${s.cerbos_log_level}, audit and telemetry off.`);
  L.push('');

  if (results.goals.length) {
    L.push('## Goals');
    L.push('');
    L.push('| goal | measured | target | result | detail |');
    L.push('| --- | ---: | --- | --- | --- |');
    for (const g of results.goals) L.push(`| ${g.goal} | ${fmt(g.value, g.digits ?? 2)} | ${g.target} | ${yes(g.met)} | ${g.detail} |`);
    L.push('');
  }

  const cells = aggregate(results);
  if (cells.size) {
    for (const size of s.sizes) {
      const present = s.targets.map((t) => cells.get(`${size}|${t}`)).filter(Boolean);
      if (present.length === 0) continue;
      L.push(`## ${fmt(size)} actors: req/s of each round (in round order) and server CPU per request`);
      L.push('');
      L.push(`| target | req/s (${s.rounds} rounds) | CPU per request (range over rounds) | user + system (medians) |`);
      L.push('| --- | --- | --- | --- |');
      for (const c of present) {
        const byRound = [...c.runs].sort((a, b) => a.round - b.round);
        const cpus = byRound.map((r) => r.server_cpu_us_per_req);
        L.push(`| ${TARGET_LABEL[c.target]} | ${byRound.map((r) => fmt(r.rps)).join(' / ')} | ${fmt(min(cpus), 1)}-${fmt(max(cpus), 1)} µs (median ${fmt(c.cpu_us, 1)}) | ${c.user_us === null ? 'n/a' : `${fmt(c.user_us, 1)} + ${fmt(c.system_us, 1)} µs`} |`);
      }
      L.push('');
    }
    L.push(`## /v1/check at ${s.connections} connections`);
    L.push('');
    L.push('| actors | target | req/s (median) | range over rounds | p50 ms | p99 ms | server CPU µs/req | server CPU use | load CPU busy | RSS MiB after load / after runs | answers checked | wrong or failed |');
    L.push('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const size of s.sizes) {
      for (const target of s.targets) {
        const c = cells.get(`${size}|${target}`);
        if (!c) continue;
        const wrong = c.failed + (c.sweep_wrong ?? 0);
        L.push(`| ${fmt(size)} | ${TARGET_LABEL[target]} | ${fmt(c.rps)} | ${fmt(c.rps_min)}–${fmt(c.rps_max)} | ${fmt(c.p50_ms, 2)} | ${fmt(c.p99_ms, 2)} | ${fmt(c.cpu_us)} | ${pct(c.server_share)} | ${pct(c.client_busy)} | ${fmt(c.rss_after_load)} / ${fmt(c.rss_after_runs)} | ${fmt(c.checked + c.sweep_checked)} | ${wrong === 0 ? '0' : `**${fmt(wrong)} — flagged**`} |`);
      }
    }
    L.push('');
    const rs = ratios(results);
    if (rs.length) {
      L.push('### Ratios (same run; ratio of medians, paired per-round median in brackets)');
      L.push('');
      L.push(`| actors | flex-auth / node:http req/s (goal ≥ ${GOALS.throughputVsNodeHttp}) | flex-auth / Cerbos req/s | flex-auth p99 / Koa p99 (goal ≤ ${GOALS.p99VsKoa}) | flex-auth / node:http CPU per request (goal ≤ ${GOALS.cpuVsNodeHttp}) |`);
      L.push('| ---: | ---: | ---: | ---: | ---: |');
      for (const r of [...rs, ...ratios(results, 'flex-auth-base')]) {
        L.push(`| ${fmt(r.size)}${r.subject === 'flex-auth' ? '' : ' (base build)'} | ${fmt(r.vs_node_http, 2)} (${fmt(r.vs_node_http_paired, 2)}) | ${fmt(r.vs_cerbos, 2)} (${fmt(r.vs_cerbos_paired, 2)}) | ${fmt(r.p99_vs_koa, 2)} (${fmt(r.p99_vs_koa_paired, 2)}) | ${fmt(r.cpu_vs_node_http, 2)} (${fmt(r.cpu_vs_node_http_paired, 2)}) |`);
      }
      L.push('');
    }
  }

  if (results.scale.length || results.checks.servers.some((x) => x.target === 'flex-auth')) {
    L.push('## Scale (flex-auth)');
    L.push('');
    L.push('| actors | relationships | file MiB | load+validate+compile median ms (runs) | JSON.parse / validate / revision / compile ms | heap kept MiB | serve ready s | serve RSS MiB after load / after runs / peak | req/s |');
    L.push('| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |');
    for (const size of s.sizes) {
      const sc = results.scale.find((x) => x.size === size);
      const d = results.data[size];
      const server = results.checks.servers.find((x) => x.target === 'flex-auth' && x.size === size);
      const c = cells.get(`${size}|flex-auth`);
      const st = sc?.steps ?? {};
      L.push(`| ${fmt(size)} | ${fmt(d?.relationships)} | ${fmt(d?.registry_mib, 1)} | ${sc ? `${fmt(sc.median_ms)} (${sc.runs})` : 'n/a'} | ${sc ? [st.json_parse_ms, st.validate_ms, st.revision_ms, st.compile_ms].map((x) => fmt(x)).join(' / ') : 'n/a'} | ${fmt(sc?.retained_heap_mib, 1)} | ${fmt(server?.ready_s, 2)} | ${fmt(server?.after_load?.rss_mib)} / ${fmt(server?.after_runs?.rss_mib)} / ${fmt(server?.after_runs?.hwm_mib ?? server?.after_load?.hwm_mib)} | ${fmt(c?.rps)} |`);
    }
    L.push('');
  }

  if (results.reload) {
    const r = results.reload;
    L.push(`## Reload under load (${fmt(r.size)} actors, ${s.connections} connections, ${r.window_s} s window, ${r.bucket_ms} ms buckets)`);
    L.push('');
    L.push(`Throughput over the window ${fmt(r.run.rps)} req/s; ${fmt(r.run.checked)} answers checked, ${fmt(r.failed)} wrong or failed (errors ${JSON.stringify(r.errors)}, non-200 ${r.run.non200}); reloads logged ${r.reloads_logged}; final revision ${r.final_revision === r.revisions.a ? 'A (as expected)' : r.final_revision}.`);
    L.push('');
    L.push('| swap | reload logged after ms | pre-swap median per 100 ms | dip around the reload ms | any time below 80 % in 4 s ms | longest run below ms | lowest bucket | below 80 % in the 3 s before (noise) ms |');
    L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const d of r.swaps) {
      L.push(`| to ${d.to} at +${fmt(d.offset_ms / 1000, 1)} s | ${fmt(d.reload_logged_after_ms)} | ${fmt(d.baseline_per_bucket)} | ${fmt(d.dip_ms)} | ${fmt(d.below_threshold_ms)} | ${fmt(d.longest_below_ms)} | ${fmt(100 * (d.lowest_ratio ?? 0))} % | ${fmt(d.noise_below_threshold_before_ms)} |`);
    }
    L.push('');
    L.push(`Answers per 100 ms: ${r.series.join(' ')}`);
    L.push('');
  }

  for (const profile of [results.profile_base, results.profile]) {
    if (!profile) continue;
    L.push(`## CPU profile of ${TARGET_LABEL[profile.target ?? 'flex-auth']} (${fmt(profile.size)} actors, ${profile.duration_s} s at ${s.connections} connections, ${fmt(profile.run.rps)} req/s while profiling)`);
    L.push('');
    L.push('```');
    L.push(profile.text);
    L.push('```');
    L.push('');
  }

  if (results.overhead) {
    L.push('## Metrics overhead (bench/metrics-overhead.mjs)');
    L.push('');
    if (results.overhead.exit_code !== 0) {
      L.push(`**It failed (exit ${results.overhead.exit_code}).**`);
      L.push('');
    }
    L.push('```');
    L.push(results.overhead.text);
    L.push('```');
    L.push('');
  }
  return L.join('\n');
}

export function writeReport(results, file) {
  writeFileSync(file, `${renderMarkdown(results)}\n`);
}
