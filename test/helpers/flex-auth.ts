/**
 * The built CLI (`dist/src/cli/index.js`) as a real process: `flex-auth serve` on 127.0.0.1
 * with an OS-picked port, waited for by its "listening" log line, or any other command run to
 * completion. Children never inherit a FLEX_AUTH_* setting from the test run.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { CLI, PACKAGE_ROOT } from './paths.js';
import { pollUntil } from './poll.js';
import { parseLogLine, runCommand, spawnProcess, trackChild } from './process.js';
import type { CommandResult, ExitStatus, LogLine, RunningProcess, RunOptions } from './process.js';

/** Our environment minus any FLEX_AUTH_* setting, plus `extra`. */
function flexAuthEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('FLEX_AUTH_')) env[key] = value;
  }
  return { ...env, ...extra };
}

export interface ServerProcess extends RunningProcess {
  readonly url: string;
  readonly port: number;
}

/**
 * Starts `flex-auth serve --host 127.0.0.1 --port 0 ...args` and resolves once it logs
 * `"msg":"listening"`, with the port it logged. Rejects (and kills the child) if it exits or
 * does not listen within `timeoutMs`.
 */
export async function startServer(
  args: readonly string[] = [],
  options: { env?: Record<string, string>; timeoutMs?: number; hostPortFlags?: boolean; name?: string } = {},
): Promise<ServerProcess> {
  const hostPort = options.hostPortFlags === false ? [] : ['--host', '127.0.0.1', '--port', '0'];
  const proc = spawnProcess(options.name ?? 'server', process.execPath, [CLI, 'serve', ...hostPort, ...args], flexAuthEnv(options.env));
  try {
    const listening = await proc.stdout.waitForMessage('listening', {}, { timeoutMs: options.timeoutMs ?? 15_000 });
    const port = listening.port as number;
    if (!Number.isInteger(port) || port <= 0) throw new Error(`listening line has no usable port: ${JSON.stringify(listening)}`);
    return { ...proc, url: `http://127.0.0.1:${port}`, port };
  } catch (error) {
    await proc.stop('SIGKILL');
    throw new Error(`${(error as Error).message}\n${proc.stderr.tail()}`);
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
    .map(parseLogLine);
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
      env: flexAuthEnv(),
      stdio: ['pipe', fd, 'pipe'],
    }) as unknown as ChildProcessWithoutNullStreams;
  } finally {
    closeSync(fd);
  }
  const { exited, running, stop } = trackChild(child);
  child.stdin.end();
  child.stderr.resume();
  try {
    const found = await pollUntil(
      async () => {
        if (!running()) return { exited: true as const };
        return { exited: false as const, line: readLogFile(logFile).find((line) => line.json?.msg === 'listening')?.json };
      },
      (probe) => probe.exited || probe.line !== undefined,
      `a "listening" line in ${logFile}`,
      { timeoutMs, intervalMs: 20 },
    );
    if (found.exited || !found.line) {
      throw new Error(`server exited before listening; its log:\n${readLogFile(logFile).map((l) => l.raw).join('\n')}`);
    }
    return { url: `http://127.0.0.1:${found.line.port as number}`, exited, logLines: () => readLogFile(logFile), stop };
  } catch (error) {
    await stop('SIGKILL');
    throw error;
  }
}

/** Stops servers that were started (ignores undefined), waiting for each to exit. */
export async function stopAll(...servers: (ServerProcess | undefined)[]): Promise<void> {
  await Promise.all(servers.filter((s): s is ServerProcess => s !== undefined).map((s) => s.stop()));
}

/** Runs `flex-auth ...args` to completion (killed, and failed, after `timeoutMs`: 15 s by default). */
export function runCli(args: readonly string[], options: Omit<RunOptions, 'baseEnv'> = {}): Promise<CommandResult> {
  return runCommand(process.execPath, [CLI, ...args], { timeoutMs: 15_000, ...options, baseEnv: flexAuthEnv() });
}
