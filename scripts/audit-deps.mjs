#!/usr/bin/env node
// `npm audit` of the runtime dependencies: exit 1 on any high or critical advisory. Some
// registries refuse the audit endpoint; then this says so plainly (exit 0, "no advisory data")
// rather than passing silently or failing a build it cannot judge.
import { spawnSync } from 'node:child_process';

const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8' });
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  console.error(`npm audit: unreadable output (exit ${run.status}): ${run.stderr.slice(0, 500)}`);
  process.exit(1);
}
if (report.statusCode || report.error) {
  console.log(`npm audit: NOT CHECKED: the registry did not answer the audit request (${report.statusCode ?? report.error?.code ?? 'error'}); no advisory data`);
  process.exit(0);
}
const counts = report.metadata?.vulnerabilities ?? {};
const serious = (counts.high ?? 0) + (counts.critical ?? 0);
console.log(`npm audit (runtime dependencies): ${JSON.stringify(counts)}`);
if (serious > 0) {
  for (const [name, entry] of Object.entries(report.vulnerabilities ?? {})) {
    if (['high', 'critical'].includes(entry.severity)) console.log(`  ${entry.severity}: ${name} ${entry.range ?? ''}`);
  }
  process.exit(1);
}
