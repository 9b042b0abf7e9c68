#!/usr/bin/env node
/**
 * Figures for the costs that hostile or huge inputs used to make unbounded (issue 21): loading
 * registries of growing size in each shape (nested chain, wide group, many actors, many bad
 * actors, many cycles), the 30,000-principal and 6,000-unknown-key check requests, and strict
 * JSON parsing against plain JSON.parse on a 200-byte and a 64 KiB check body. Prints one line
 * per figure; the unit test test/unit/registry/validation.complexity.test.ts asserts the ratios.
 *
 *   npm run build && node --expose-gc bench/scale/validation-complexity.mjs [--root CHECKOUT]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { root: { type: 'string' } } });
const ROOT = values.root ? path.resolve(values.root) : fileURLToPath(new URL('../..', import.meta.url));
const dist = (file) => import(path.join(ROOT, 'dist', file));
const { loadRegistry } = await dist('src/registry/load.js');
const { parseCheckRequest } = await dist('src/core/check-request.js');
const { parseJson } = await dist('src/core/strict-json.js');
const { registryOfShape, SHAPES } = await dist('test/helpers/registry-shapes.js');
const gc = globalThis.gc ?? (() => {});

/** Best of `runs`: milliseconds and the heap kept by the result. */
function measure(work, runs = 3) {
  let ms = Infinity;
  let bytes = Infinity;
  let kept;
  for (let i = 0; i < runs; i++) {
    kept = undefined;
    gc();
    const before = process.memoryUsage().heapUsed;
    const start = performance.now();
    kept = work();
    ms = Math.min(ms, performance.now() - start);
    gc();
    bytes = Math.min(bytes, process.memoryUsage().heapUsed - before);
  }
  return { ms, bytes, kept };
}

function attempt(fn) {
  try {
    return fn();
  } catch (error) {
    return error;
  }
}

const SIZES = { chain: [2_500, 5_000, 10_000], wide: [25_000, 50_000, 100_000], actors: [12_500, 25_000, 50_000], 'bad-actors': [12_500, 25_000, 50_000], cycles: [5_000, 10_000, 20_000] };
for (const shape of SHAPES) {
  let previous;
  for (const size of SIZES[shape]) {
    const text = JSON.stringify(registryOfShape(shape, size));
    const { ms, bytes, kept } = measure(() => attempt(() => loadRegistry(text)));
    const outcome = kept instanceof Error ? `refused (${kept.message}, ${kept.details.length} details)` : 'loaded';
    const ratio = previous ? ` x${(ms / previous).toFixed(2)} for 2x size` : '';
    console.log(`load ${shape} ${size}: ${ms.toFixed(1)} ms, heap kept ${(bytes / 1e6).toFixed(1)} MB, ${(text.length / 1e6).toFixed(2)} MB text, ${outcome}${ratio}`);
    previous = ms;
  }
}

const principals = { subject: { id: 'iam:x' }, action: 'sign', resource: { id: 'agt-a' }, context: { principals: Array.from({ length: 30_000 }, (_, i) => `p${i}`) } };
const manyPrincipals = measure(() => attempt(() => parseCheckRequest(principals)));
console.log(`check request with 30,000 principals (${JSON.stringify(principals).length} bytes): ${manyPrincipals.ms.toFixed(2)} ms, ${manyPrincipals.kept.details.length} details`);
const unknownKeys = { subject: { id: 'iam:x' }, action: 'sign', resource: { id: 'agt-a' }, ...Object.fromEntries(Array.from({ length: 6_000 }, (_, i) => [`k${i}`, i])) };
const manyKeys = measure(() => attempt(() => parseCheckRequest(unknownKeys)));
console.log(`check request with 6,000 unknown keys: ${manyKeys.ms.toFixed(2)} ms, ${manyKeys.kept.details.length} details`);

/** Nanoseconds per parse, best of five rounds of `count` parses. */
function perParse(parse, text, count) {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) parse(text);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / count);
  }
  return best;
}
const small = JSON.stringify({ subject: { id: 'iam:agt-state-hub-bridge' }, action: 'sign', resource: { type: 'ssh_actor', id: 'agt-state-hub-bridge' }, context: { ttl: '8h', principals: ['agt-state-hub-bridge'], metadata: { ticket: 'OPS-1' } } });
// A body just under the 64 KiB limit: metadata of many small objects, the most keys per byte.
const largeBody = (entries) => JSON.stringify({ subject: { id: 'iam:x' }, action: 'sign', resource: { id: 'agt-a' },
  context: { metadata: Object.fromEntries(Array.from({ length: entries }, (_, i) => [`key-${i}`, { value: `v${i}`, list: [i, i + 1] }])) } });
let entries = 1_000;
while (largeBody(entries + 10).length <= 64 * 1024) entries += 10;
const large = largeBody(entries);
for (const [label, text, count] of [['typical check body', small, 200_000], ['large check body', large, 2_000]]) {
  const plain = perParse(JSON.parse, text, count);
  const strict = perParse(parseJson, text, count);
  console.log(`strict JSON, ${label} (${text.length} bytes): JSON.parse ${(plain / 1000).toFixed(2)} us, parseJson ${(strict / 1000).toFixed(2)} us, ratio ${(strict / plain).toFixed(2)}`);
}
