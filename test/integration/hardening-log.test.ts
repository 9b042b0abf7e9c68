/**
 * The decision log is the audit trail: a real `flex-auth serve` process must write a line per
 * decision whatever the log level, and answer 500 rather than decide unlogged when its stdout
 * is gone (issues 21 and 22).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { checkFor } from '../helpers/documents.js';
import { startServer, stopAll } from '../helpers/flex-auth.js';
import { postCheck } from '../helpers/http.js';
import { CLI, PACKAGE_ROOT, PRODUCTION_REGISTRY } from '../helpers/paths.js';
import { pollUntil } from '../helpers/poll.js';
import { LineLog, runCommand } from '../helpers/process.js';
import type { ServerProcess } from '../helpers/flex-auth.js';

/** A port free a moment ago: the server below logs no `listening` line to learn one from. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

describe('decision log hardening (a real process)', function () {
  this.timeout(60_000);
  let server: ServerProcess | undefined;

  afterEach(async () => {
    await stopAll(server);
    server = undefined;
  });

  it('answers 500 internal_error, counts it and says so once on stderr, when its stdout pipe is closed', async () => {
    server = await startServer(['--registry-file', PRODUCTION_REGISTRY]);
    expect((await postCheck(server.url, checkFor('agt-state-hub-bridge'))).body.allow).to.equal(true);
    // Like `flex-auth serve | head -n 2` once head has exited: nobody reads the pipe any more.
    server.child.stdout.destroy();
    for (let i = 0; i < 3; i++) {
      const refused = await postCheck(server.url, checkFor('agt-state-hub-bridge'));
      expect(refused.status, refused.text).to.equal(500);
      expect(refused.body).to.deep.equal({ error: { code: 'internal_error', message: 'internal error', details: [] } });
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).to.match(/^flex_auth_decision_log_failures_total 3$/m);
    expect(metrics).to.match(/^flex_auth_decisions_total\{action="sign",allow="true",reason="allowed"\} 1$/m);
    await server.stderr.waitFor((line) => /log destination/.test(line.raw), 'the line about the log destination');
    expect(server.stderr.lines.filter((line) => /log destination/.test(line.raw))).to.have.length(1);
  });

  for (const level of ['warn', 'error']) {
    it(`writes a line per decision with FLEX_AUTH_LOG_LEVEL=${level}, and only the operational lines obey the level`, async () => {
      const port = await freePort();
      const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), '--registry-file', PRODUCTION_REGISTRY], {
        cwd: PACKAGE_ROOT,
        env: { ...process.env, FLEX_AUTH_LOG_LEVEL: level },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        const stdout = new LineLog(child.stdout, 'server stdout');
        const url = `http://127.0.0.1:${port}`;
        await pollUntil(() => fetch(`${url}/readyz`).then((r) => r.status), (status) => status === 200, 'the server to be ready');
        const answer = await postCheck(url, checkFor('agt-state-hub-bridge'), { headers: { 'x-request-id': `level-${level}` } });
        expect(answer.status).to.equal(200);
        const line = await stdout.waitForMessage('decision', { request_id: `level-${level}` });
        expect(line).to.include({ level: 'info', allow: true, reason: 'allowed', decision_id: answer.body.decision_id });
        expect(stdout.lines.some((l) => l.json?.msg === 'listening'), 'info lines stay off').to.equal(false);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
    });
  }

  it('refuses an unknown FLEX_AUTH_LOG_LEVEL with one line that lists the valid levels', async () => {
    const result = await runCommand(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', '0'], { env: { FLEX_AUTH_LOG_LEVEL: 'verbose' }, timeoutMs: 15_000 });
    expect(result.code).to.equal(2);
    expect(result.stdout).to.equal('');
    expect(result.stderr.trim().split('\n')).to.deep.equal([
      'flex-auth serve: FLEX_AUTH_LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent (got verbose)',
    ]);
  });
});
