#!/usr/bin/env node
/**
 * Load, validate and compile one registry file in this process, as flex-auth does on every
 * (re)load: `loadRegistry(text)` from dist/src/registry/load.js (JSON.parse, schema and reference
 * validation, revision, compile). Repeats it (at most --repeat times, within --budget seconds,
 * at least once) and prints one JSON line: every time, the median, the first (cold) one, a
 * best-effort split into its steps, and the heap the compiled registry keeps.
 *
 *   node --expose-gc bench/scale/load-timing.mjs --file REGISTRY.json [--repeat 5] [--budget 40] [--root CHECKOUT]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { file: { type: 'string' }, root: { type: 'string' }, repeat: { type: 'string', default: '5' }, budget: { type: 'string', default: '40' } },
});
const ROOT = values.root ? path.resolve(values.root) : fileURLToPath(new URL('../..', import.meta.url));
const DIST = path.join(ROOT, 'dist', 'src', 'registry');
const text = readFileSync(values.file, 'utf8');
const gc = globalThis.gc ?? (() => {});

const { loadRegistry } = await import(path.join(DIST, 'load.js'));
const now = () => performance.now();

gc();
const heapBefore = process.memoryUsage().heapUsed;
const times = [];
let kept;
const started = now();
for (let i = 0; i < Number(values.repeat); i += 1) {
  if (i > 0 && (now() - started) / 1000 > Number(values.budget)) break;
  kept = undefined;
  gc();
  const t = now();
  kept = loadRegistry(text);
  times.push(now() - t);
}
gc();
const retainedMiB = (process.memoryUsage().heapUsed - heapBefore) / 1048576;

// The steps, timed apart where the modules still export them (best effort: src/ may change).
const steps = {};
try {
  const { validateRegistry } = await import(path.join(DIST, 'load.js'));
  // Newer builds write a valid document's revision field by field (revisionOfValid).
  const { revisionOf: generic, revisionOfValid } = await import(path.join(DIST, 'revision.js'));
  const revisionOf = revisionOfValid ?? generic;
  const { CompiledRegistry } = await import(path.join(DIST, 'compiled-registry.js'));
  const { groupGraphOfDocument } = await import(path.join(DIST, 'references.js'));
  let t = now();
  const doc = JSON.parse(text);
  steps.json_parse_ms = now() - t;
  // Newer builds build the group graph once and hand it from validation to compilation.
  const groups = typeof groupGraphOfDocument === 'function' ? groupGraphOfDocument(doc) : undefined;
  if (typeof validateRegistry === 'function') {
    t = now();
    validateRegistry(doc, groups);
    steps.validate_ms = now() - t;
  }
  if (typeof revisionOf === 'function') {
    t = now();
    const revision = revisionOf(doc);
    steps.revision_ms = now() - t;
    if (typeof CompiledRegistry === 'function') {
      t = now();
      new CompiledRegistry(doc, revision, groups);
      steps.compile_ms = now() - t;
    }
  }
} catch (error) {
  steps.error = String(error.message ?? error);
}

const sorted = [...times].sort((a, b) => a - b);
const mid = sorted.length >> 1;
console.log(JSON.stringify({
  file: values.file,
  bytes: Buffer.byteLength(text),
  actors: kept?.counts?.actors ?? null,
  runs: times.length,
  times_ms: times,
  first_ms: times[0],
  median_ms: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
  steps,
  retained_heap_mib: retainedMiB,
  rss_mib: process.memoryUsage().rss / 1048576,
}));
