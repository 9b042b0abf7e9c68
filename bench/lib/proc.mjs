/** Child processes for the benchmark: pinned servers, readiness, /proc figures, clean-up. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, closeSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

const children = new Set();

/**
 * The Node flags flex-auth runs with as deployed: those between `node` and the script in the
 * image's ENTRYPOINT (`root`/Dockerfile), so a benchmark starts `serve` as the image does.
 */
export function deployedNodeFlags(root) {
  const line = readFileSync(path.join(root, 'Dockerfile'), 'utf8').match(/^ENTRYPOINT (\[.*\])$/m);
  if (!line) throw new Error(`${root}/Dockerfile: no exec-form ENTRYPOINT line`);
  const argv = JSON.parse(line[1]);
  const script = argv.indexOf('dist/src/cli/index.js');
  if (argv[0] !== 'node' || script < 1) throw new Error(`${root}/Dockerfile: ENTRYPOINT is not node [flags] dist/src/cli/index.js`);
  return argv.slice(1, script);
}

/** Kubernetes quantity suffixes a memory limit may carry, as bytes. */
const QUANTITY = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };

/**
 * The memory limit flex-auth runs under as deployed, in bytes: the chart's
 * `resources.limits.memory` (`root`/charts/flex-auth/values.yaml). Node sizes its heap from it
 * (docs/deployment.md, "Node flags"), so a benchmark that leaves it out runs another heap.
 */
export function deployedMemoryLimit(root) {
  const file = path.join(root, 'charts', 'flex-auth', 'values.yaml');
  const quantity = String(parseYaml(readFileSync(file, 'utf8'))?.resources?.limits?.memory ?? '');
  const match = /^(\d+)(k|M|G|Ki|Mi|Gi)?$/.exec(quantity);
  if (!match) throw new Error(`${file}: resources.limits.memory is not a memory quantity (${quantity || 'none'})`);
  return Number(match[1]) * QUANTITY[match[2] ?? ''];
}

/**
 * A memory cgroup `name` (one a server: a pod's limit is its own) with `bytes` as its limit,
 * for a server measured as deployed, as a pod's container has: cgroup v2 (`memory.max`) or v1 (`memory.limit_in_bytes`), under
 * this process's own cgroup. Needs write access to it (root, usually); otherwise, or on any
 * error, `{ reason }` says why and the caller runs without one. `procs` is the file a process
 * writes its pid to, to join; `remove()` deletes the group once its processes are gone.
 */
export function memoryCgroup(bytes, name) {
  const fail = (reason) => ({ reason });
  try {
    const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
    const v1 = lines.find((line) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(line));
    const v2 = lines.find((line) => line.startsWith('0::'));
    let dir;
    let limitFile;
    if (v1 && existsSync('/sys/fs/cgroup/memory')) {
      dir = path.join('/sys/fs/cgroup/memory', v1.slice(v1.indexOf(':', v1.indexOf(':') + 1) + 1), `flex-auth-bench-${process.pid}-${name}`);
      limitFile = 'memory.limit_in_bytes';
    } else if (v2 && existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      dir = path.join('/sys/fs/cgroup', v2.slice(3), `flex-auth-bench-${process.pid}-${name}`);
      limitFile = 'memory.max';
    } else {
      return fail('no memory cgroup found');
    }
    mkdirSync(dir);
    const remove = () => {
      try {
        rmdirSync(dir);
      } catch {
        // still busy or gone: a leftover empty group holds nothing
      }
    };
    try {
      writeFileSync(path.join(dir, limitFile), String(bytes));
    } catch (error) {
      remove();
      return fail(`cannot set ${limitFile} (${error.code ?? error.message})`);
    }
    return { procs: path.join(dir, 'cgroup.procs'), dir, remove };
  } catch (error) {
    return fail(`cannot make a memory cgroup (${error.code ?? error.message})`);
  }
}

export function hasTaskset() {
  return spawnSync('taskset', ['-V']).status === 0;
}

/** The CPUs this machine offers (the benchmark wants 2: one for servers, one for load). */
export function cpuCount() {
  return Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()) || 1;
}

/** Pins this process, all of its threads, to `cpu`: the runner then stays off the servers' CPU. */
export function pinSelf(cpu) {
  spawnSync('taskset', ['-a', '-cp', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * A log pipe as deployed: a FIFO whose reader (`cat`, pinned to `cpu`, its output discarded)
 * drains it, as a container runtime drains a container's stdout. `fd` is the write end, to
 * hand to a server as its stdout; `close()` closes this process's copy of it once handed over.
 * The reader exits when the last writer closes; `stop()` ends it earlier.
 */
export function startLogPipe(cpu) {
  const dir = mkdtempSync(path.join(tmpdir(), 'flex-auth-bench-pipe-'));
  const fifo = path.join(dir, 'stdout');
  const made = spawnSync('mkfifo', [fifo]);
  if (made.status !== 0) throw new Error(`mkfifo ${fifo} failed: ${made.stderr}`);
  const pinned = cpu !== undefined && cpu !== null;
  const reader = spawn(pinned ? 'taskset' : 'cat', pinned ? ['-c', String(cpu), 'cat', fifo] : [fifo], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(reader);
  reader.once('exit', () => children.delete(reader));
  // Blocks until the reader opens its end (a moment: it was just spawned).
  const fd = openSync(fifo, 'w');
  rmSync(dir, { recursive: true, force: true });
  let open = true;
  return {
    fd,
    reader,
    close() {
      if (open) closeSync(fd);
      open = false;
    },
    stop() {
      this.close();
      if (reader.exitCode === null && reader.signalCode === null) reader.kill('SIGTERM');
    },
  };
}

/**
 * Starts `command args` on `cpu` (taskset -c, which execs, so the pid is the program's own),
 * in the cgroup whose `cgroup.procs` is `cgroupProcs` when given (joined by a shell that then
 * execs, before the program starts, since Node reads its memory limit at start).
 * stdout goes to `stdoutFd` when given (a log pipe's write end), else to `stdoutFile`
 * (/dev/null by default); stderr to `stderrFile`.
 */
export function startPinned({ cpu, command, args, cwd, env, cgroupProcs, stdoutFd, stdoutFile = '/dev/null', stderrFile = '/dev/null' }) {
  const out = stdoutFd ?? openSync(stdoutFile, 'a');
  const err = openSync(stderrFile, 'a');
  let argv = cpu !== undefined && cpu !== null ? ['taskset', '-c', String(cpu), command, ...args] : [command, ...args];
  if (cgroupProcs) argv = ['sh', '-c', 'echo $$ > "$0" && exec "$@"', cgroupProcs, ...argv];
  const child = spawn(argv[0], argv.slice(1), {
    cwd, env: { ...process.env, ...env }, stdio: ['ignore', out, err],
  });
  if (stdoutFd === undefined) closeSync(out);
  closeSync(err);
  children.add(child);
  child.exitInfo = null;
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    children.delete(child);
    child.exitInfo = { code, signal };
    resolve(child.exitInfo);
  }));
  return child;
}

/** Polls `url` until it answers 200; fails if the child exits or `timeoutMs` passes. */
export async function waitReady(child, url, timeoutMs = 180_000) {
  const started = Date.now();
  for (;;) {
    if (child.exitInfo) throw new Error(`${url}: the server exited (${JSON.stringify(child.exitInfo)}) before it was ready`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return (Date.now() - started) / 1000;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > timeoutMs) throw new Error(`${url}: not ready within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function stop(child, graceMs = 10_000) {
  if (!child || child.exitInfo) return child?.exitInfo;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const info = await child.exited;
  clearTimeout(timer);
  return info;
}

/** Stops every child this process started (by pid), e.g. on Ctrl-C. */
export function killAll() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
}

/** VmRSS and VmHWM of a process, in MiB. */
export function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss_mib: kib('VmRSS') / 1024, hwm_mib: kib('VmHWM') / 1024 };
  } catch {
    return { rss_mib: null, hwm_mib: null };
  }
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * CPU time of a process (all its threads) in microseconds: user, system, and their sum. The
 * split shows what kind of host a run had: where the loopback round trip is slow, the floors'
 * system time grows as much as flex-auth's, and the ratios read the host too.
 */
export function processCpuMicros(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12.
    const user = (Number(fields[11]) * 1e6) / CLK_TCK;
    const system = (Number(fields[12]) * 1e6) / CLK_TCK;
    return { user, system, total: user + system };
  } catch {
    return { user: NaN, system: NaN, total: NaN };
  }
}

/** Per-CPU jiffies from /proc/stat: { cpuN: { busy, total } }. */
export function cpuTimes() {
  const out = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    const idle = v[3] + (v[4] ?? 0); // idle + iowait
    const total = v.slice(0, 8).reduce((s, x) => s + x, 0); // user..steal (guest is inside user)
    out[m[1]] = { busy: total - idle, total };
  }
  return out;
}

/** Busy share of each CPU between two cpuTimes() readings. */
export function cpuBusy(before, after) {
  const out = {};
  for (const [cpu, a] of Object.entries(after)) {
    const b = before[cpu];
    if (!b) continue;
    const total = a.total - b.total;
    out[cpu] = total > 0 ? (a.busy - b.busy) / total : null;
  }
  return out;
}

/**
 * Starts this script again as a bench server (`args` tell it which variant to serve), pinned to
 * `serverCpu` when given (taskset execs the program, so the IPC channel still reaches the server
 * process itself). The child sends its port once listening, and its CPU usage when asked.
 * One process per variant, so that neither's garbage or JIT state touches the other's runs.
 * `stdout`: where the child's stdout goes (a log pipe's fd, say); the parent's by default.
 */
export async function startBenchChild(script, args, variant, serverCpu, stdout = 'inherit') {
  const argv = [process.execPath, script, ...args];
  const [command, ...rest] = serverCpu === undefined ? argv : ['taskset', '-c', serverCpu, ...argv];
  const child = spawn(command, rest, { stdio: ['ignore', stdout, 'inherit', 'ipc'] });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench server (${variant}) did not start within 15 s`)), 15_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve(message.port);
    });
    child.once('exit', (code) => reject(new Error(`bench server (${variant}) exited with ${code}`)));
  });
  /** The server process's CPU time so far, in microseconds (user + system). */
  const cpu = () =>
    new Promise((resolve) => {
      child.once('message', (usage) => resolve(usage.user + usage.system));
      child.send('cpu');
    });
  return { child, port, cpu };
}

/** autocannon from bench/'s own packages, or a clear exit when they are not installed. */
export async function importAutocannon() {
  try {
    return (await import('autocannon')).default;
  } catch {
    console.error('autocannon is not installed: npm ci --prefix bench');
    process.exit(2);
  }
}
