/**
 * Helpers for the integration tests: spawn the real CLI (`dist/src/cli/index.js`), read its
 * JSON log lines as they arrive, talk HTTP to it over 127.0.0.1, and wait for events (a log
 * line, an HTTP state) with bounded timeouts. Nothing here sleeps a fixed time.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: this file is compiled to dist/test/integration/helpers.js. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const CLI = path.join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'index.js');
export const EXAMPLES = path.join(PACKAGE_ROOT, 'examples');
export const PRODUCTION_REGISTRY = path.join(EXAMPLES, 'ops-warden', 'production_registry_snapshot.json');
export const TEMPLATE_REGISTRY = path.join(EXAMPLES, 'ops-warden', 'registry_snapshot.json');
export const REQUESTS_DIR = path.join(EXAMPLES, 'requests');

// ---------------------------------------------------------------------------------------------
// Independent canonical JSON and revision (the test's own, not the code under test's).

/** Object keys sorted recursively (by UTF-16 code units), no insignificant whitespace. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).filter((key) => record[key] !== undefined).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `sha256:` + hex SHA-256 of the canonical JSON, per contract section 2. */
export function expectedRevision(document: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(document)).digest('hex')}`;
}

/** `object#relation@subject`, the contract's tuple notation. */
export function tupleOf(rel: { object: string; relation: string; subject: string }): string {
  return `${rel.object}#${rel.relation}@${rel.subject}`;
}

// ---------------------------------------------------------------------------------------------
// Processes.

const live = new Set<ChildProcessWithoutNullStreams>();

// Last-resort guard: if mocha exits while a child is still alive (a hook never ran), kill it.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The environment for a child: ours minus any FLEX_AUTH_* setting, plus `extra`. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('FLEX_AUTH_')) env[key] = value;
  }
  return { ...env, ...extra };
}

export interface LogLine {
  readonly raw: string;
  /** The parsed JSON line, or undefined when the line is not JSON. */
  readonly json: Record<string, any> | undefined;
}

/** Collects a stream's lines as they arrive and lets a test wait for one that matches. */
export class LineLog {
  readonly lines: LogLine[] = [];
  private buffered = '';
  private ended = false;
  private readonly waiters = new Set<() => void>();
  private readonly name: string;

  constructor(stream: NodeJS.ReadableStream, name: string) {
    this.name = name;
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.buffered += chunk;
      let newline: number;
      while ((newline = this.buffered.indexOf('\n')) >= 0) {
        this.push(this.buffered.slice(0, newline));
        this.buffered = this.buffered.slice(newline + 1);
      }
    });
    stream.on('end', () => {
      if (this.buffered) this.push(this.buffered);
      this.buffered = '';
      this.ended = true;
      this.notify();
    });
  }

  /** The index the next line will get: pass it as `since` to only look at later lines. */
  mark(): number {
    return this.lines.length;
  }

  find(predicate: (line: LogLine) => boolean, since = 0): LogLine | undefined {
    return this.lines.slice(since).find(predicate);
  }

  filter(predicate: (line: LogLine) => boolean, since = 0): LogLine[] {
    return this.lines.slice(since).filter(predicate);
  }

  /** The JSON lines with this `msg`, from `since` on. */
  messages(msg: string, since = 0): Record<string, any>[] {
    return this.filter((line) => line.json?.msg === msg, since).map((line) => line.json!);
  }

  /**
   * Resolves with the first line from `since` on that matches; rejects after `timeoutMs`, or
   * when the stream ends first, with `description` and the last lines seen.
   */
  waitFor(
    predicate: (line: LogLine) => boolean,
    description: string,
    options: { since?: number; timeoutMs?: number } = {},
  ): Promise<LogLine> {
    const since = options.since ?? 0;
    const timeoutMs = options.timeoutMs ?? 8000;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.find(predicate, since);
        if (found) {
          finish();
          resolve(found);
          return true;
        }
        if (this.ended) {
          finish();
          reject(new Error(`${this.name} ended before a line matched: ${description}\n${this.tail()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${this.name} line: ${description}\n${this.tail()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(onLine);
      };
      const onLine = (): void => void check();
      if (!check()) this.waiters.add(onLine);
    });
  }

  /** Resolves with the first line whose JSON has `msg` and matches `fields` (and `extra`). */
  waitForMessage(
    msg: string,
    fields: Record<string, unknown> = {},
    options: { since?: number; timeoutMs?: number } = {},
  ): Promise<Record<string, any>> {
    const matches = (line: LogLine): boolean =>
      line.json?.msg === msg && Object.entries(fields).every(([key, value]) => line.json![key] === value);
    return this.waitFor(matches, `"msg":"${msg}" with ${JSON.stringify(fields)}`, options).then((line) => line.json!);
  }

  tail(count = 15): string {
    const shown = this.lines.slice(-count).map((line) => `    ${line.raw}`);
    return shown.length ? `  last ${shown.length} line(s) of ${this.name}:\n${shown.join('\n')}` : `  (no lines on ${this.name})`;
  }

  private push(raw: string): void {
    let json: Record<string, any> | undefined;
    try {
      const parsed: unknown = JSON.parse(raw);
      json = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, any>) : undefined;
    } catch {
      json = undefined;
    }
    this.lines.push({ raw, json });
    this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: string;
  readonly port: number;
  readonly stdout: LineLog;
  readonly stderr: LineLog;
  readonly exited: Promise<ExitStatus>;
  /** Sends `signal` (SIGTERM by default) and resolves on exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitStatus>;
}

function exitOf(child: ChildProcessWithoutNullStreams): Promise<ExitStatus> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/**
 * Registers a spawned server so it is killed if a test leaves it behind, and gives its exit
 * and a `stop` that sends `signal` (SIGTERM by default), then SIGKILL after `timeoutMs`.
 */
function track(child: ChildProcessWithoutNullStreams): { exited: Promise<ExitStatus>; stop: (signal?: NodeJS.Signals, timeoutMs?: number) => Promise<ExitStatus> } {
  live.add(child);
  const exited = exitOf(child);
  void exited.then(() => live.delete(child));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<ExitStatus> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return { exited, stop };
}

/**
 * Starts `flex-auth serve --host 127.0.0.1 --port 0 ...args` and resolves once it logs
 * `"msg":"listening"`, with the port it logged. Rejects (and kills the child) if it exits or
 * does not listen within `timeoutMs`.
 */
export async function startServer(
  args: readonly string[] = [],
  options: { env?: Record<string, string>; timeoutMs?: number; hostPortFlags?: boolean } = {},
): Promise<ServerProcess> {
  const hostPort = options.hostPortFlags === false ? [] : ['--host', '127.0.0.1', '--port', '0'];
  const child = spawn(process.execPath, [CLI, 'serve', ...hostPort, ...args], {
    cwd: PACKAGE_ROOT,
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const { exited, stop } = track(child);
  child.stdin.end();
  const stdout = new LineLog(child.stdout, 'server stdout');
  const stderr = new LineLog(child.stderr, 'server stderr');

  try {
    const listening = await stdout.waitForMessage('listening', {}, { timeoutMs: options.timeoutMs ?? 15_000 });
    const port = listening.port as number;
    if (!Number.isInteger(port) || port <= 0) throw new Error(`listening line has no usable port: ${JSON.stringify(listening)}`);
    return { child, url: `http://127.0.0.1:${port}`, port, stdout, stderr, exited, stop };
  } catch (error) {
    await stop('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr.tail()}`);
  }
}

/** A server whose stdout goes straight to a file, so a test can read it synchronously. */
export interface FileLoggedServer {
  readonly url: string;
  readonly exited: Promise<ExitStatus>;
  /** The log lines written so far, read from the file right now. */
  logLines(): LogLine[];
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitStatus>;
}

function readLogFile(file: string): LogLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((raw) => raw !== '')
    .map((raw) => {
      try {
        return { raw, json: JSON.parse(raw) as Record<string, any> };
      } catch {
        return { raw, json: undefined };
      }
    });
}

/**
 * Like `startServer`, but the child's stdout is the file `logFile` itself (no pipe in between),
 * so whatever the child wrote before it answered is in the file when the answer arrives. Polls
 * the file (bounded) for the listening line.
 */
export async function startServerLoggingToFile(args: readonly string[], logFile: string, timeoutMs = 15_000): Promise<FileLoggedServer> {
  const fd = openSync(logFile, 'a');
  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
      cwd: PACKAGE_ROOT,
      env: childEnv(),
      stdio: ['pipe', fd, 'pipe'],
    }) as unknown as ChildProcessWithoutNullStreams;
  } finally {
    closeSync(fd);
  }
  const { exited, stop } = track(child);
  child.stdin.end();
  child.stderr.resume();
  try {
    const found = await pollUntil(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) return { exited: true as const };
        return { exited: false as const, line: readLogFile(logFile).find((line) => line.json?.msg === 'listening')?.json };
      },
      (probe) => probe.exited || probe.line !== undefined,
      `a "listening" line in ${logFile}`,
      { timeoutMs, intervalMs: 20 },
    );
    if (found.exited || !found.line) {
      throw new Error(`server exited before listening; its log:\n${readLogFile(logFile).map((l) => l.raw).join('\n')}`);
    }
    const listening = found.line;
    return { url: `http://127.0.0.1:${listening.port as number}`, exited, logLines: () => readLogFile(logFile), stop };
  } catch (error) {
    await stop('SIGKILL');
    throw error;
  }
}

/** Stops servers that were started (ignores undefined), waiting for each to exit. */
export async function stopAll(...servers: (ServerProcess | undefined)[]): Promise<void> {
  await Promise.all(servers.filter((s): s is ServerProcess => s !== undefined).map((s) => s.stop()));
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `flex-auth ...args` to completion (killed after `timeoutMs`), feeding `stdin` if given. */
export function runCli(args: readonly string[], options: { stdin?: string; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? PACKAGE_ROOT,
    env: childEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => {}); // the CLI may exit without reading stdin
  child.stdin.end(options.stdin ?? '');
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`flex-auth ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    // 'close' (not 'exit') so that all output has been read.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      live.delete(child);
      reject(error);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP.

export interface HttpResult<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body, or undefined when it is not JSON. */
  readonly body: T;
}

async function toResult(response: Response): Promise<HttpResult> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

export async function request(url: string, init: RequestInit = {}): Promise<HttpResult> {
  return toResult(await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(8000) }));
}

export function getJson(base: string, route: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return request(`${base}${route}`, { headers });
}

/** POST /v1/check with a JSON body (an object is serialised; a string is sent as is). */
export function postCheck(
  base: string,
  body: unknown,
  options: { query?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  return request(`${base}/v1/check${options.query ?? ''}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...options.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/**
 * Polls `probe` every `intervalMs` until `done` holds for its result, and returns that result;
 * fails after `timeoutMs` with `description` and the last result seen.
 */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  description: string,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 8000;
  const intervalMs = options.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const seen = last === undefined ? `last error: ${String(lastError)}` : `last result: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}; ${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// ---------------------------------------------------------------------------------------------
// Files and fixtures.

export function makeTempDir(prefix = 'flex-auth-it-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** The contract's error body shape: `{error: {code, message, details: [{path, message}]}}`. */
export function isErrorBody(body: any): boolean {
  return (
    body !== null &&
    typeof body === 'object' &&
    Object.keys(body).length === 1 &&
    typeof body.error === 'object' &&
    typeof body.error.code === 'string' &&
    typeof body.error.message === 'string' &&
    Array.isArray(body.error.details) &&
    body.error.details.every((d: any) => typeof d?.path === 'string' && typeof d?.message === 'string')
  );
}

/** A V8 stack frame (`    at fn (file.js:1:2)`) or a file:line:col location anywhere in the text. */
export const STACK_FRAME = /(^|\n|\\n)\s*at\s+\S|\.(?:js|ts|mjs|cjs):\d+:\d+/;

export interface RegistryOptions {
  /** Makes the document (and so its revision) distinct. */
  readonly name: string;
  /** Extra actors beyond the base one. */
  readonly extraActors?: readonly Record<string, unknown>[];
  readonly ttlMax?: string;
}

/** A small valid registry: actor `agt-reload` (signer: itself) plus `extraActors`. */
export function makeRegistry(options: RegistryOptions): Record<string, any> {
  return {
    schema: 'flex-auth.registry/v1',
    metadata: { name: options.name, source: 'flex-auth integration tests', generated_at: '2026-06-23T12:00:00Z' },
    actors: [
      {
        name: 'agt-reload',
        type: 'agent',
        actions: ['sign'],
        principals: ['agt-reload'],
        ttl: { default: '1h', min: '5m', max: options.ttlMax ?? '8h' },
        allowed_subjects: ['agt-reload', 'iam:agt-reload'],
      },
      ...(options.extraActors ?? []),
    ],
    relationships: [],
  };
}

/** A check request for `actor` signed by `subject` (defaults to the actor's name). */
export function checkFor(actor: string, context?: Record<string, unknown>, subject = actor): Record<string, unknown> {
  return {
    subject: { id: subject },
    action: 'sign',
    resource: { type: 'ssh_actor', id: actor },
    ...(context ? { context } : {}),
  };
}

export const DECISION_ID = /^decision:[0-9a-f]{16}$/;
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs any command to completion (killed after `timeoutMs`), with extra environment and stdin. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { stdin?: string; env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? PACKAGE_ROOT, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.on('error', () => {}); // the command may exit without reading stdin
    child.stdin.end(options.stdin ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
