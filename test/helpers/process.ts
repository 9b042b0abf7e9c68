/**
 * Real child processes for the suites: spawn one and read its output line by line as it
 * arrives, wait (bounded) for a line, stop it (SIGTERM, then SIGKILL), or run a command to
 * completion. Every child is killed if the test run exits while it is still alive.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, ChildProcessWithoutNullStreams } from 'node:child_process';
import { PACKAGE_ROOT } from './paths.js';

const live = new Set<ChildProcess>();

// Last resort, if an after hook never ran: no child outlives the test run.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface LogLine {
  readonly raw: string;
  /** The parsed JSON line, or undefined when the line is not JSON. */
  readonly json: Record<string, any> | undefined;
}

export function parseLogLine(raw: string): LogLine {
  try {
    const parsed: unknown = JSON.parse(raw);
    return { raw, json: parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, any>) : undefined };
  } catch {
    return { raw, json: undefined };
  }
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

  /** Resolves with the first line whose JSON has `msg` and matches `fields`. */
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
    this.lines.push(parseLogLine(raw));
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

export interface TrackedChild {
  /** Settles once the child has exited, or could not be spawned (then code and signal are null). */
  readonly exited: Promise<ExitStatus>;
  readonly running: () => boolean;
  /** Sends `signal` (SIGTERM by default) and resolves on exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitStatus>;
}

/** Registers a spawned child so it is killed if a test leaves it behind, and gives its exit and a `stop`. */
export function trackChild(child: ChildProcess): TrackedChild {
  live.add(child);
  let running = true;
  const exited = new Promise<ExitStatus>((resolve) => {
    const settle = (status: ExitStatus): void => {
      running = false;
      live.delete(child);
      resolve(status);
    };
    if (child.exitCode !== null || child.signalCode !== null) settle({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => settle({ code, signal }));
    // A child that could not be spawned never exits; any later 'error' (a failed kill) is not an exit.
    child.once('error', () => {
      if (child.pid === undefined) settle({ code: null, signal: null });
    });
  });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<ExitStatus> => {
    if (running) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return { exited, running: () => running, stop };
}

/** A spawned process whose stdout and stderr are read line by line. */
export interface RunningProcess extends TrackedChild {
  readonly name: string;
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdout: LineLog;
  readonly stderr: LineLog;
  /** The last lines of both streams, and a spawn error, for a failure message. */
  tail(): string;
}

/** Spawns `command args` in the package root with `env` (ours by default) and no input. */
export function spawnProcess(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): RunningProcess {
  const child = spawn(command, args, { cwd: PACKAGE_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const tracked = trackChild(child);
  child.stdin.end();
  const stdout = new LineLog(child.stdout, `${name} stdout`);
  const stderr = new LineLog(child.stderr, `${name} stderr`);
  const tail = (): string => [spawnError ? `  spawn error: ${spawnError.message}` : '', stdout.tail(), stderr.tail()].filter(Boolean).join('\n');
  return { ...tracked, name, child, stdout, stderr, tail };
}

export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly stdin?: string;
  /** Added to `baseEnv`. */
  readonly env?: Record<string, string>;
  /** The environment `env` is added to: ours by default. */
  readonly baseEnv?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Past this the command is killed and the run fails with what it printed (60 s by default). */
  readonly timeoutMs?: number;
}

/** Runs a command to completion, feeding `stdin` (empty by default), and collects its output. */
export function runCommand(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const child = spawn(command, args, {
    cwd: options.cwd ?? PACKAGE_ROOT,
    env: { ...(options.baseEnv ?? process.env), ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => {}); // the command may exit without reading stdin
  child.stdin.end(options.stdin ?? '');
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
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
