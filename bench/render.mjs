#!/usr/bin/env node
/** Re-renders a results JSON as Markdown (after a change to lib/report.mjs): node bench/render.mjs results/latest.json */
import { readFileSync, writeFileSync } from 'node:fs';
import { evaluateGoals, renderMarkdown } from './lib/report.mjs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/render.mjs RESULTS.json');
  process.exit(2);
}
const results = JSON.parse(readFileSync(file, 'utf8'));
results.goals = evaluateGoals(results);
writeFileSync(file, JSON.stringify(results, null, 2));
writeFileSync(file.replace(/\.json$/, '.md'), `${renderMarkdown(results)}\n`);
console.log(file.replace(/\.json$/, '.md'));
