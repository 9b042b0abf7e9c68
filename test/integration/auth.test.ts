import { randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { checkFor } from '../helpers/documents.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCli, startServer, stopAll } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { getJson, postCheck } from '../helpers/http.js';
import { PRODUCTION_REGISTRY } from '../helpers/paths.js';
import { pollUntil } from '../helpers/poll.js';

/** Tokens made for this run only: nothing secret lives in the repository. */
const newToken = () => randomBytes(24).toString('hex');

describe('caller authentication (--auth-token-file)', function () {
  this.timeout(60_000);
  let dir: string;
  let tokenFile: string;
  let server: ServerProcess | undefined;
  const first = newToken();
  const second = newToken();
  const check = checkFor('agt-state-hub-bridge');

  before(async () => {
    dir = await makeTempDir();
    tokenFile = path.join(dir, 'tokens');
    await writeFile(tokenFile, `# callers of /v1/check\n${first}\n\n${second}\n`);
    server = await startServer(['--registry-file', PRODUCTION_REGISTRY, '--auth-token-file', tokenFile]);
  });

  after(async () => {
    await stopAll(server);
    await removeDir(dir);
  });

  async function replaceTokens(text: string): Promise<void> {
    await writeFile(path.join(dir, 'tokens.tmp'), text);
    await rename(path.join(dir, 'tokens.tmp'), tokenFile);
  }

  const withToken = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  it('refuses a check without a token, or with a wrong one, with 401 in the error shape', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: `Bearer ${newToken()}` }, { authorization: first }, { authorization: `Basic ${first}` }, { authorization: `Bearer ${first}x` }];
    for (const headers of attempts) {
      const response = await postCheck(server!.url, check, { headers });
      expect(response.status, JSON.stringify(headers)).to.equal(401);
      expect(response.headers.get('www-authenticate')).to.equal('Bearer realm="flex-auth"');
      expect(response.body).to.deep.equal({ error: { code: 'unauthorized', message: 'missing or invalid bearer token', details: [] } });
    }
  });

  it('decides a check with any of the tokens', async () => {
    for (const token of [first, second]) {
      const response = await postCheck(server!.url, check, withToken(token));
      expect(response.status).to.equal(200);
      expect(response.body.allow).to.equal(true);
    }
  });

  it('takes the scheme in any case, as RFC 7235 says', async () => {
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const response = await postCheck(server!.url, check, { headers: { authorization: `${scheme} ${first}` } });
      expect(response.status, scheme).to.equal(200);
    }
  });

  it('leaves /healthz, /readyz and /metrics open', async () => {
    for (const route of ['/healthz', '/readyz', '/metrics']) expect((await getJson(server!.url, route)).status, route).to.equal(200);
  });

  it('lets smoke pass with --token-file', async () => {
    const result = await runCli(['smoke', '--url', server!.url, '--token-file', tokenFile]);
    expect(result.code, result.stdout).to.equal(0);
    expect((await runCli(['smoke', '--url', server!.url])).code).to.equal(1);
  });

  it('picks up a rotated token file: the new token works and the removed one is refused', async () => {
    const third = newToken();
    await replaceTokens(`${third}\n`);
    await pollUntil(() => postCheck(server!.url, check, withToken(third)), (r) => r.status === 200, 'the new token to be accepted');
    expect((await postCheck(server!.url, check, withToken(first))).status).to.equal(401);
    expect((await postCheck(server!.url, check, withToken(second))).status).to.equal(401);

    // A bad file changes nothing: the tokens in force stay.
    await replaceTokens(`${newToken()}\nshort\n`);
    await server!.stdout.waitForMessage('auth token file reload failed; keeping the tokens in force');
    expect((await postCheck(server!.url, check, withToken(third))).status).to.equal(200);

    // A file emptied on purpose refuses everyone: fail closed, and the log says so.
    const since = server!.stdout.mark();
    await replaceTokens('# revoked\n');
    await server!.stdout.waitForMessage('auth token file has no tokens: every check will be refused', {}, { since });
    expect((await postCheck(server!.url, check, withToken(third))).status).to.equal(401);
  });

  it('never writes a token to its output', () => {
    const output = server!.stdout.lines.map((line) => line.raw).join('\n') + server!.stderr.lines.map((line) => line.raw).join('\n');
    for (const token of [first, second]) expect(output).not.to.include(token);
  });

  it('does not start with an invalid token file, and names the line, not the token', async () => {
    const bad = path.join(dir, 'bad-tokens');
    const tooShort = 'abc123';
    await writeFile(bad, `${newToken()}\n${tooShort}\n`);
    const result = await runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--registry-file', PRODUCTION_REGISTRY, '--auth-token-file', bad]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include('line 2: a token must be at least 16 characters');
    expect(result.stderr + result.stdout).not.to.include(tooShort);
    const missing = await runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--auth-token-file', path.join(dir, 'nope')]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/auth token file .*ENOENT/);
    const empty = path.join(dir, 'empty-tokens');
    await writeFile(empty, '# nothing yet\n');
    const none = await runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--auth-token-file', empty]);
    expect(none.code).to.equal(2);
    // One clear line, not a "loaded" and a warning before the refusal.
    expect(none.stdout.split('\n').filter((line) => line.includes('token'))).to.deep.equal([]);
    expect(none.stderr.trim().split('\n')).to.deep.equal([`flex-auth serve: auth token file ${empty} has no tokens; refusing to start (write at least one token, one a line)`]);
  });
});
