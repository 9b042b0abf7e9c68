/**
 * Support for the observability suite: find promtool and prometheus (the suite fails, never
 * skips, without them), run flex-auth and Prometheus as real processes on 127.0.0.1, query
 * Prometheus's HTTP API, and wait with bounded polls (never a fixed sleep).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: this file is compiled to dist/test/observability/support.js. */
export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'index.js');
export const RULES = path.join(ROOT, 'deploy', 'prometheus', 'flex-auth-rules.yaml');
export const RULES_TEST = path.join(ROOT, 'deploy', 'prometheus', 'flex-auth-rules.test.yaml');
export const DASHBOARD = path.join(ROOT, 'deploy', 'grafana', 'flex-auth-dashboard.json');
export const PRODUCTION_REGISTRY = path.join(ROOT, 'examples', 'ops-warden', 'production_registry_snapshot.json');
export const REQUESTS_DIR = path.join(ROOT, 'examples', 'requests');

export const INSTALL_HINT = 'install it with `apt-get install -y prometheus` (Debian package; .ci/run does this)';

/** The absolute path of `name` on PATH, or an Error that says how to install it. */
export function findTool(name: 'promtool' | 'prometheus'): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(`${name} is not on PATH: the observability suite needs a real ${name}; ${INSTALL_HINT}`);
}

// ---------------------------------------------------------------------------------------------
// Independent canonical JSON and revision (the contract's rule, written here, not imported).

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record).sort().map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function revisionOf(document: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(document)).digest('hex')}`;
}

// ---------------------------------------------------------------------------------------------
// Waiting.

/** Polls `probe` until `done` holds; fails after `timeoutMs` with `description` and the last result or error. */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  description: string,
  { timeoutMs = 30_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: { value: T } | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      last = { value };
      if (done(value)) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const seen = last ? `last result: ${JSON.stringify(last.value)}` : `last error: ${String(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}; ${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// ---------------------------------------------------------------------------------------------
// Processes.

const live = new Set<ChildProcess>();
// Last resort, if an after hook never ran: no child outlives the test run.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A spawned process with its output kept line by line. */
export class Proc {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();

  constructor(readonly name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        live.delete(this.child);
        resolve({ code, signal });
        this.notify();
      });
      this.child.once('error', (error) => {
        live.delete(this.child);
        this.lines.push(`spawn error: ${error.message}`);
        resolve({ code: null, signal: null });
        this.notify();
      });
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          this.lines.push(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
        }
        this.notify();
      });
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first line for which `pick` returns a value; fails on exit or timeout. */
  waitForLine<T>(pick: (line: string) => T | undefined, description: string, timeoutMs = 15_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        for (const line of this.lines) {
          const found = pick(line);
          if (found !== undefined) return finish(() => resolve(found));
        }
        if (!this.running) finish(() => reject(new Error(`${this.name} exited before ${description}\n${this.tail()}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${this.name}: ${description}\n${this.tail()}`))), timeoutMs);
      const finish = (then: () => void): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        then();
      };
      this.waiters.add(check);
      check();
    });
  }

  tail(count = 20): string {
    return `  last lines of ${this.name}:\n${this.lines.slice(-count).map((l) => `    ${l}`).join('\n') || '    (none)'}`;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** The environment for flex-auth children: ours without any FLEX_AUTH_* setting. */
function flexAuthEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('FLEX_AUTH_')));
}

export interface FlexAuth {
  readonly proc: Proc;
  readonly port: number;
  readonly url: string;
  /** The scrape target, as Prometheus labels it: `instance="127.0.0.1:PORT"`. */
  readonly instance: string;
}

/** `flex-auth serve --host 127.0.0.1 --port 0 ...args`, resolved once it logs "listening". */
export async function startFlexAuth(name: string, args: readonly string[] = []): Promise<FlexAuth> {
  const proc = new Proc(name, process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], flexAuthEnv());
  try {
    const port = await proc.waitForLine((line) => {
      try {
        const json = JSON.parse(line) as { msg?: string; port?: unknown };
        return json.msg === 'listening' && typeof json.port === 'number' ? json.port : undefined;
      } catch {
        return undefined;
      }
    }, 'a {"msg":"listening"} log line');
    return { proc, port, url: `http://127.0.0.1:${port}`, instance: `127.0.0.1:${port}` };
  } catch (error) {
    await proc.stop(1000);
    throw error;
  }
}

/** A port that was free a moment ago (Prometheus cannot listen on port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Prometheus.

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export class Prometheus {
  private constructor(readonly proc: Proc, readonly url: string, readonly dir: string) {}

  /**
   * Starts `prometheus` on 127.0.0.1 with its own config (1 s scrape and rule evaluation,
   * `targets` as static targets of job "flex-auth", `ruleFiles` loaded) and a temp TSDB in
   * `dir`, and resolves once /-/ready answers 200. Retries on another port if the one picked is
   * taken by then.
   */
  static async start(dir: string, targets: readonly string[], ruleFiles: readonly string[]): Promise<Prometheus> {
    const binary = findTool('prometheus');
    const config = path.join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      JSON.stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        rule_files: ruleFiles,
        scrape_configs: [{ job_name: 'flex-auth', static_configs: [{ targets }] }],
      }, null, 2),
    );
    let lastError: unknown;
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const port = await freePort();
      const proc = new Proc(`prometheus (attempt ${attempt})`, binary, [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(dir, `tsdb-${attempt}`)}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=info',
      ]);
      const url = `http://127.0.0.1:${port}`;
      try {
        await pollUntil(
          async () => {
            if (!proc.running) throw new Error('exited');
            return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) })).status;
          },
          (status) => status === 200 || !proc.running,
          `Prometheus ready on ${url}`,
          { timeoutMs: 30_000, intervalMs: 100 },
        );
        if (!proc.running) throw new Error(`prometheus exited\n${proc.tail()}`);
        return new Prometheus(proc, url, dir);
      } catch (error) {
        lastError = new Error(`${(error as Error).message}\n${proc.tail()}`);
        await proc.stop(2000);
        if (!proc.lines.some((line) => line.includes('address already in use'))) break;
      }
    }
    throw lastError;
  }

  async stop(): Promise<void> {
    await this.proc.stop();
  }

  async api(route: string, params: Record<string, string> = {}): Promise<any> {
    const response = await fetch(`${this.url}/api/v1/${route}?${new URLSearchParams(params)}`, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { status: string; data?: unknown; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${route} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`);
    return body.data;
  }

  /** An instant query; the vector's samples (a scalar becomes one sample with no labels). */
  async query(expr: string): Promise<PromSample[]> {
    const data = (await this.api('query', { query: expr })) as { resultType: string; result: any };
    if (data.resultType === 'scalar') return [{ metric: {}, value: Number(data.result[1]) }];
    if (data.resultType !== 'vector') throw new Error(`${expr}: expected a vector, got ${data.resultType}`);
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Polls `expr` until `done` holds for its samples (at most `timeoutMs`, 30 s by default). */
  waitFor(expr: string, done: (samples: PromSample[]) => boolean, description: string, timeoutMs = 30_000): Promise<PromSample[]> {
    return pollUntil(() => this.query(expr), done, `${description} (query: ${expr})`, { timeoutMs, intervalMs: 250 });
  }
}

// ---------------------------------------------------------------------------------------------
// promtool.

export interface ToolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function promtool(args: readonly string[], input?: string): ToolResult {
  const result = spawnSync(findTool('promtool'), args, { cwd: ROOT, input: input ?? '', encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function readJson<T = any>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}
