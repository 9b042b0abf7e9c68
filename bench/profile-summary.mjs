#!/usr/bin/env node
/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time by function + script (+ line), the
 * top N with their share of all samples and of the busy (non-idle) ones; inclusive time of the
 * same functions (a function counted once per sample, however deep its recursion); and self
 * time by area (flex-auth's own code, each npm package, Node internals, GC, idle).
 *
 *   node bench/profile-summary.mjs PROFILE.cpuprofile [--top 25] [--from-ms A] [--to-ms B] [--json]
 *
 * --from-ms / --to-ms keep only the samples taken that long after the profile started (the
 * runner passes the measurement window, so start-up, the registry load and warm-up are left out).
 * --requests N (the checks answered in that window) adds µs per check to the stage table.
 *
 * Stages of a check: each sample goes to the stage of the nearest frame on its stack that
 * belongs to one (STAGE_RULES; a helper such as canonical-json.js or crypto's `hash` counts
 * for whoever called it), and a sample with no flex-auth frame at all is Node's HTTP work.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

function shortUrl(url) {
  if (!url) return '';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length);
  const dist = u.indexOf('/dist/');
  if (dist >= 0) return u.slice(dist + 1);
  const bench = u.indexOf('/bench/');
  if (bench >= 0) return u.slice(bench + 1);
  return u;
}

function area(url, functionName) {
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return '(program: native, not attributed)';
    return `native ${functionName || '(anonymous)'}`;
  }
  if (url.startsWith('node:')) return 'node internals';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + '/node_modules/'.length).split('/');
    return `npm ${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const src = /\/dist\/src\/([^/]+)/.exec(u);
  if (src) return `flex-auth ${src[1].endsWith('.js') ? src[1] : `${src[1]}/`}`;
  return shortUrl(url);
}

/** [stage, file under dist/src (or npm package), function names or null for any]; the first match wins. */
const STAGE_RULES = [
  ['request id', 'http/request-id.js', null],
  ['JSON parse', 'core/strict-json.js', null],
  ['JSON parse', 'core/check-request.js', ['parseRequestJson']],
  ['request validation', 'core/check-request.js', null],
  ['request validation', 'core/duration.js', null],
  ['decision id hash', 'core/decision-id.js', null],
  ['decision', 'core/decide.js', null],
  ['decision', 'core/policies/', null],
  ['decision', 'registry/', null],
  ['chain hash', 'http/audit-chain.js', null],
  ['log write', 'http/decision-log.js', ['commit']],
  ['log line build', 'http/decision-log.js', null],
  ['log write', 'logger.js', ['write', 'writeLines']],
  ['log line build', 'logger.js', null],
  ['log write', 'npm sonic-boom', null],
  ['metrics', 'metrics.js', null],
  ['metrics', 'npm prom-client', null],
  ['reply body (JSON)', 'http/check.js', ['decisionJson']],
  ['HTTP parse and reply', 'http/check.js', ['send', 'sendJson']],
  ['body read', 'http/body.js', null],
  ['check lane (handler, callbacks)', 'http/check.js', null],
  ['HTTP parse and reply', 'http/app.js', null],
  ['errors', 'http/errors.js', null],
];

function stageOfFrame(frame) {
  const where = area(frame.url, frame.functionName);
  const u = (frame.url ?? '').replace(/^file:\/\//, '');
  const src = /\/dist\/src\/(.*)$/.exec(u)?.[1];
  for (const [stage, file, names] of STAGE_RULES) {
    const matches = file.startsWith('npm ') ? where === file : src !== undefined && src.startsWith(file);
    if (matches && (names === null || names.includes(frame.functionName))) return stage;
  }
  return null;
}

/**
 * The main thread's profile among those `node --cpu-prof` wrote, named
 * CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: a registry large enough to load off the event
 * loop (src/registry/store.ts) loads in a worker, which writes a profile of its own (thread 1 and
 * up) that sorts after the main thread's. Undefined when there is none.
 */
export function mainThreadProfile(files) {
  return files.find((file) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(path.basename(file)));
}

export function summarize(profile, top = 25, { fromMs = 0, toMs = Infinity, requests = null } = {}) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n) => {
    const f = n.callFrame;
    const loc = f.url ? ` ${shortUrl(f.url)}:${f.lineNumber + 1}` : '';
    return `${f.functionName || '(anonymous)'}${loc}`;
  };

  // Self time from samples and their time deltas (more exact than hitCount x interval).
  const selfUs = new Map();
  const totalUs = new Map();
  const areaUs = new Map();
  const stageUs = new Map();
  const stageCache = new Map();
  const stageOf = (node) => {
    if (stageCache.has(node.id)) return stageCache.get(node.id);
    const f = node.callFrame;
    let stage = stageOfFrame(f);
    if (stage === null) {
      const up = parent.get(node.id);
      if (f.functionName === '(garbage collector)') stage = 'GC';
      else if (f.functionName === '(idle)') stage = 'idle';
      else if (f.functionName === '(program)') stage = '(program: native, not attributed)';
      else if (up === undefined || nodes.get(up).callFrame.functionName === '(root)') stage = 'HTTP parse and reply';
      else stage = stageOf(nodes.get(up));
    }
    stageCache.set(node.id, stage);
    return stage;
  };
  let all = 0;
  let idle = 0;
  const { samples, timeDeltas } = profile;
  let elapsedUs = 0;
  let kept = 0;
  for (let i = 0; i < samples.length; i += 1) {
    elapsedUs += timeDeltas[i] ?? 0;
    if (elapsedUs < fromMs * 1000 || elapsedUs > toMs * 1000) continue;
    kept += 1;
    const dt = Math.max(0, timeDeltas[i + 1] ?? timeDeltas[i] ?? 0);
    const node = nodes.get(samples[i]);
    if (!node) continue;
    all += dt;
    const f = node.callFrame;
    if (f.functionName === '(idle)') idle += dt;
    const k = key(node);
    selfUs.set(k, (selfUs.get(k) ?? 0) + dt);
    const a = area(f.url, f.functionName);
    areaUs.set(a, (areaUs.get(a) ?? 0) + dt);
    const st = stageOf(node);
    stageUs.set(st, (stageUs.get(st) ?? 0) + dt);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const kk = key(nodes.get(id));
      if (seen.has(kk)) continue;
      seen.add(kk);
      totalUs.set(kk, (totalUs.get(kk) ?? 0) + dt);
    }
  }
  const busy = all - idle;
  const rows = [...selfUs.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, us]) => ({ name, self_ms: us / 1000, self_pct: (100 * us) / all, busy_pct: busy > 0 ? (100 * us) / busy : null }));
  const inclusive = [...totalUs.entries()]
    .filter(([name]) => !name.startsWith('(root)') && !name.startsWith('(program)') && !name.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .filter(([name]) => /dist\/src\//.test(name))
    .slice(0, top)
    .map(([name, us]) => ({ name, total_ms: us / 1000, total_pct: (100 * us) / all }));
  const areas = [...areaUs.entries()].sort((a, b) => b[1] - a[1])
    .map(([name, us]) => ({ area: name, self_ms: us / 1000, self_pct: (100 * us) / all }));
  const stages = [...stageUs.entries()].filter(([name]) => name !== 'idle').sort((a, b) => b[1] - a[1])
    .map(([stage, us]) => ({ stage, self_ms: us / 1000, busy_pct: busy > 0 ? (100 * us) / busy : null, us_per_check: requests ? us / requests : null }));
  const window = fromMs > 0 || toMs < Infinity ? { from_ms: fromMs, to_ms: Number.isFinite(toMs) ? toMs : null } : null;
  return { sampled_ms: all / 1000, idle_pct: (100 * idle) / all, samples: kept, window, requests, top: rows, inclusive_src: inclusive, areas, stages };
}

export function formatSummary(s) {
  const lines = [];
  const window = s.window ? ` (from ${(s.window.from_ms / 1000).toFixed(1)} s${s.window.to_ms ? ` to ${(s.window.to_ms / 1000).toFixed(1)} s` : ''} after the process started)` : '';
  lines.push(`${s.samples} samples over ${(s.sampled_ms / 1000).toFixed(1)} s${window}; idle ${s.idle_pct.toFixed(1)} %`);
  lines.push('');
  lines.push(`Top ${s.top.length} by self time (function, script:line)                  self ms   % all   % busy`);
  for (const r of s.top) {
    lines.push(`${r.name.padEnd(72).slice(0, 72)} ${r.self_ms.toFixed(0).padStart(8)} ${r.self_pct.toFixed(1).padStart(7)} ${(r.busy_pct ?? 0).toFixed(1).padStart(8)}`);
  }
  lines.push('');
  lines.push('Self time by area                                                         self ms   % all');
  for (const a of s.areas.slice(0, 20)) {
    lines.push(`${a.area.padEnd(72).slice(0, 72)} ${a.self_ms.toFixed(0).padStart(8)} ${a.self_pct.toFixed(1).padStart(7)}`);
  }
  lines.push('');
  lines.push(`Stages of a check (each sample to the nearest stage on its stack)              ms  % busy${s.requests ? `  µs/check (${s.requests} checks)` : ''}`);
  for (const r of s.stages ?? []) {
    lines.push(`${r.stage.padEnd(72).slice(0, 72)} ${r.self_ms.toFixed(0).padStart(8)} ${(r.busy_pct ?? 0).toFixed(1).padStart(7)}${r.us_per_check === null ? '' : r.us_per_check.toFixed(2).padStart(10)}`);
  }
  lines.push('');
  lines.push('flex-auth functions by inclusive time (self + callees)                    total ms   % all');
  for (const r of s.inclusive_src.slice(0, 15)) {
    lines.push(`${r.name.padEnd(72).slice(0, 72)} ${r.total_ms.toFixed(0).padStart(8)} ${r.total_pct.toFixed(1).padStart(7)}`);
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, 'from-ms': { type: 'string', default: '0' }, 'to-ms': { type: 'string' }, requests: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) {
    console.error('usage: node bench/profile-summary.mjs PROFILE.cpuprofile [--top 25] [--from-ms A] [--to-ms B] [--requests N] [--json]');
    process.exit(2);
  }
  const window = { fromMs: Number(values['from-ms']), toMs: values['to-ms'] === undefined ? Infinity : Number(values['to-ms']), requests: values.requests === undefined ? null : Number(values.requests) };
  const summary = summarize(JSON.parse(readFileSync(positionals[0], 'utf8')), Number(values.top), window);
  console.log(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
}
