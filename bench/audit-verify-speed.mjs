#!/usr/bin/env node
/**
 * How fast `flex-auth audit verify` reads a log: writes LINES decision lines with the real
 * DecisionLog (a checkpoint every 1,000, as `serve --audit-key-file` does), spread over two
 * processes' logs interleaved and with an operational line every 100, into a temporary file;
 * then runs the built CLI on it with the key, and prints the wall time, lines per second and
 * the verdict (which must be intact).
 *
 *   npm run build && node bench/audit-verify-speed.mjs [--lines 1000000] [--rounds 3]
 *
 * Not part of `npm test`; the figure is in docs/performance.md.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = path.join(ROOT, 'dist', 'src');
const KEY = 'bench-audit-key-0123456789abcdef';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '3' } } });
const total = Number(values.lines);
const { DecisionLog } = await import(path.join(DIST, 'http', 'decision-log.js'));
const { createLogger } = await import(path.join(DIST, 'logger.js'));

const dir = mkdtempSync(path.join(os.tmpdir(), 'flex-auth-verify-speed-'));
try {
  const file = path.join(dir, 'decisions.log');
  const keyFile = path.join(dir, 'key');
  writeFileSync(keyFile, KEY);
  const fd = openSync(file, 'w');
  const logs = [0, 1].map(() => {
    const log = new DecisionLog(createLogger({ destination: { write: (text) => writeSync(fd, text) } }), (commit) => commit());
    log.startCheckpoints({ key: () => Buffer.from(KEY), everyMs: 3_600_000 });
    return log;
  });
  const record = (i) => ({
    requestId: `bench-${i}`, durationMs: 0.05, caller: 'token:0123abcd',
    request: { subject: { id: 'iam:alice' }, action: 'sign', resource: { type: 'ssh_actor', id: 'agt-state-hub-bridge' }, context: { metadata: { ticket: 'OPS-1' } } },
    decision: i % 10 < 7
      ? { allow: true, reason: 'allowed', decision_id: 'decision:0123456789abcdef', registry_revision: 'sha256:9d0f', policy: 'ssh-sign/v1', grant: { ttl_seconds: 3600, principals: ['atm-ops', 'atm-backup'] } }
      : { allow: false, reason: 'ttl_out_of_bounds', decision_id: 'decision:fedcba9876543210', registry_revision: 'sha256:9d0f', policy: 'ssh-sign/v1' },
  });
  for (let i = 0; i < total; i += 1) {
    logs[i & 1].append(record(i), () => {});
    if (i % 100 === 0) writeSync(fd, '{"level":"info","msg":"registry loaded"}\n');
  }
  for (const log of logs) log.close();
  closeSync(fd);
  const bytes = statSync(file).size;
  console.log(`node ${process.version}; ${total} decision lines (${(bytes / 1e6).toFixed(0)} MB), two logs interleaved, a checkpoint every 1,000`);
  for (let round = 1; round <= Number(values.rounds); round += 1) {
    const started = process.hrtime.bigint();
    const out = execFileSync(process.execPath, [path.join(DIST, 'cli', 'index.js'), 'audit', 'verify', '--key-file', keyFile, '--format', 'json', file], { maxBuffer: 1 << 26 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const report = JSON.parse(out.toString());
    if (!report.intact) throw new Error('the generated log did not verify intact');
    console.log(`round ${round}: ${seconds.toFixed(2)} s, ${(total / seconds / 1e6).toFixed(2)} M lines/s, intact`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
