/**
 * The observability suite's tools: promtool and prometheus from PATH (the suite fails, never
 * skips, without them), flex-auth as a scrape target, and a real Prometheus on 127.0.0.1 with
 * its HTTP API.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startServer } from './flex-auth.js';
import type { ServerProcess } from './flex-auth.js';
import { PACKAGE_ROOT } from './paths.js';
import { pollUntil } from './poll.js';
import { spawnProcess } from './process.js';
import type { RunningProcess } from './process.js';

const INSTALL_HINT = 'install it with `apt-get install -y prometheus` (Debian package; .ci/run does this)';

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

export interface FlexAuth {
  readonly proc: ServerProcess;
  readonly port: number;
  readonly url: string;
  /** The scrape target, as Prometheus labels it: `instance="127.0.0.1:PORT"`. */
  readonly instance: string;
}

/** `flex-auth serve --host 127.0.0.1 --port 0 ...args`, resolved once it logs "listening". */
export async function startFlexAuth(name: string, args: readonly string[] = []): Promise<FlexAuth> {
  const proc = await startServer(args, { name });
  return { proc, port: proc.port, url: proc.url, instance: `127.0.0.1:${proc.port}` };
}

/** A port that was free a moment ago (Prometheus cannot listen on port 0 and report it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export class Prometheus {
  private constructor(readonly proc: RunningProcess, readonly url: string, readonly dir: string) {}

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
      const proc = spawnProcess(`prometheus (attempt ${attempt})`, binary, [
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
            if (!proc.running()) throw new Error('exited');
            return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) })).status;
          },
          (status) => status === 200 || !proc.running(),
          `Prometheus ready on ${url}`,
          { timeoutMs: 30_000, intervalMs: 100 },
        );
        if (!proc.running()) throw new Error(`prometheus exited\n${proc.tail()}`);
        return new Prometheus(proc, url, dir);
      } catch (error) {
        lastError = new Error(`${(error as Error).message}\n${proc.tail()}`);
        await proc.stop('SIGTERM', 2000);
        const portTaken = (line: { raw: string }) => line.raw.includes('address already in use');
        if (!proc.stderr.find(portTaken) && !proc.stdout.find(portTaken)) break;
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

export interface ToolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function promtool(args: readonly string[], input?: string): ToolResult {
  const result = spawnSync(findTool('promtool'), args, { cwd: PACKAGE_ROOT, input: input ?? '', encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
