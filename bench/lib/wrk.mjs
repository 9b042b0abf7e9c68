/** Runs wrk with bench/wrk/mix.lua, pinned to the load generator's CPU, and reads its figures. */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LUA = fileURLToPath(new URL('../wrk/mix.lua', import.meta.url));

export function wrkVersion() {
  const out = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (out.error) return null;
  return /wrk (\S+)/.exec(`${out.stdout}${out.stderr}`)?.[1] ?? 'unknown';
}

/**
 * @param {{ url: string, tsv: string, mode: 'flex'|'cerbos', reasons: boolean, seconds: number,
 *           connections: number, cpu?: number, bucketMs?: number, timeoutS?: number, check?: boolean }} o
 * `check` (default true): every answer is checked (and counted per bucket) by mix.lua's response
 * hook; false: no hook, only wrk's own errors and statuses >= 400.
 */
export function runWrk(o) {
  const args = [
    '-t1', `-c${o.connections}`, `-d${o.seconds}s`, `--timeout`, `${o.timeoutS ?? 2}s`, '-s', LUA, o.url,
    '--', path.resolve(o.tsv), o.mode, o.reasons ? 'reasons' : 'none', String(o.bucketMs ?? 0),
  ];
  const command = o.cpu === undefined || o.cpu === null ? 'wrk' : 'taskset';
  const full = command === 'wrk' ? args : ['-c', String(o.cpu), 'wrk', ...args];
  return new Promise((resolve, reject) => {
    const check = o.check ?? true;
    const child = spawn(command, full, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BENCH_WRK_CHECK: check ? '1' : '0' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    // 'close', not 'exit': only then has all of wrk's output been read.
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (code !== 0 || !line) {
        reject(new Error(`wrk failed (exit ${code}): ${err || out}`));
        return;
      }
      const r = JSON.parse(line.slice('BENCH_JSON '.length));
      const seconds = r.duration_us / 1e6;
      const e = r.errors;
      resolve({
        ...r,
        seconds,
        rps: r.requests / seconds,
        answers_checked: check,
        // Every way an answer can be missing or wrong; wrk counts status >= 400 in errors.status too,
        // the hook every status but 200 in non200.
        failed: e.connect + e.read + e.write + e.timeout + (check ? r.non200 : e.status) + r.mismatches + r.reason_mismatches + r.unmatched,
      });
    });
  });
}
