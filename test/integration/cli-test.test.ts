import { expect } from 'chai';
import { XMLParser } from 'fast-xml-parser';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCli, startServer, stopAll } from '../helpers/flex-auth.js';
import { DECISION_ID } from '../helpers/http.js';
import { EXAMPLES, PRODUCTION_REGISTRY } from '../helpers/paths.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import type { CommandResult as CliResult } from '../helpers/process.js';

const EXAMPLE_TESTS = path.join(EXAMPLES, 'ops-warden', 'production_registry.tests.yaml');
/** The contract's reasons (section 3), written out here rather than taken from the code. */
const REASONS = [
  'allowed', 'unsupported_resource_type', 'unknown_actor_resource', 'actor_disabled',
  'action_not_allowed', 'subject_not_allowed', 'principal_not_allowed',
  'cert_type_not_allowed', 'extension_not_allowed', 'critical_option_not_allowed', 'ttl_out_of_bounds',
];

function json(result: CliResult): any {
  try {
    return JSON.parse(result.stdout);
  } catch {
    throw new Error(`stdout is not JSON (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

const selfSign = (actor: string, context?: Record<string, unknown>) => ({
  subject: { id: actor }, action: 'sign', resource: { type: 'ssh_actor', id: actor }, ...(context ? { context } : {}),
});

describe('cli test', function () {
  this.timeout(30_000);
  let dir: string;
  let server: ServerProcess | undefined;

  before(async () => {
    dir = await makeTempDir('flex-auth-cli-test-');
  });
  after(async () => {
    await stopAll(server);
    await removeDir(dir);
  });

  async function testFile(name: string, content: unknown): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return file;
  }

  describe('the shipped production tests', () => {
    it('pass against the production snapshot and cover every reason', async () => {
      const result = await runCli(['test', EXAMPLE_TESTS, '--format', 'json']);
      expect(result.code, result.stderr).to.equal(0);
      const report = json(result);
      expect(report.failed).to.equal(0);
      const reasons = new Set(report.files[0].cases.map((c: any) => c.actual.reason));
      expect([...reasons].sort()).to.deep.equal([...REASONS].sort());
      // Every case of the file ran: the count is the file's, read independently.
      expect(report.passed).to.equal(parseYaml(readFileSync(EXAMPLE_TESTS, 'utf8')).cases.length);
    });

    it('give the same decision ids against a live flex-auth serve as offline', async () => {
      server = await startServer(['--registry-file', PRODUCTION_REGISTRY]);
      const offline = json(await runCli(['test', EXAMPLE_TESTS, '--format', 'json']));
      const live = await runCli(['test', EXAMPLE_TESTS, '--url', server.url, '--format', 'json']);
      expect(live.code, live.stderr).to.equal(0);
      const ids = (report: any) => report.files[0].cases.map((c: any) => [c.name, c.actual.decision_id]);
      expect(ids(json(live))).to.deep.equal(ids(offline));
      for (const [, id] of ids(offline)) expect(id).to.match(DECISION_ID);
      expect(json(live).files[0].target).to.equal(server.url);
    });

    it('run against a flex-auth that requires a bearer token, with --token-file', async () => {
      const token = randomBytes(24).toString('base64url');
      const serverTokens = await testFile('server-tokens', `${token}\n`);
      const callerToken = await testFile('caller-token', `# the caller's token\n${token}\n`);
      const guarded = await startServer(['--registry-file', PRODUCTION_REGISTRY, '--auth-token-file', serverTokens]);
      try {
        const withToken = await runCli(['test', EXAMPLE_TESTS, '--url', guarded.url, '--token-file', callerToken]);
        expect(withToken.code, withToken.stdout + withToken.stderr).to.equal(0);
        // Without a token, or with one it does not accept, no case can be judged: bad input, not failed cases.
        const without = await runCli(['test', EXAMPLE_TESTS, '--url', guarded.url]);
        expect(without.code).to.equal(2);
        expect(without.stdout).to.equal('');
        expect(without.stderr).to.match(new RegExp(`^flex-auth test: not allowed by ${guarded.url}: HTTP 401: .*\\(give --token-file with a bearer token it accepts\\)\n$`));
        const wrongToken = await testFile('wrong-token', 'not-the-token\n');
        const refused = await runCli(['test', EXAMPLE_TESTS, '--url', guarded.url, '--token-file', wrongToken]);
        expect(refused.code).to.equal(2);
        expect(refused.stderr).to.match(new RegExp(`^flex-auth test: not allowed by ${guarded.url}: HTTP 401: .*\\(it does not accept the token in ${wrongToken}\\)\n$`));
        expect(without.stderr + refused.stderr).not.to.include(token);
      } finally {
        await stopAll(guarded);
      }
    });
  });

  describe('a --url that cannot be asked: exit 2, one line on stderr, no report', () => {
    const sockets = new Set<Socket>();
    let stub: NetServer | undefined;
    afterEach(async () => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await new Promise((resolve) => (stub?.listening ? stub.close(resolve) : resolve(undefined)));
      stub = undefined;
    });

    /** Starts `server` on loopback, keeping its connections to end after the test; its URL. */
    async function stubServer(server: NetServer): Promise<string> {
      stub = server;
      server.on('connection', (socket: Socket) => sockets.add(socket));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }

    async function expectCannotAsk(url: string, line: RegExp, extra: string[] = []): Promise<void> {
      for (const format of ['text', 'json', 'junit']) {
        const result = await runCli(['test', EXAMPLE_TESTS, '--url', url, '--format', format, ...extra]);
        expect(result.code, `${format}: ${result.stdout}${result.stderr}`).to.equal(2);
        expect(result.stdout, format).to.equal('');
        expect(result.stderr, format).to.match(line);
        expect(result.stderr.split('\n').length, format).to.equal(2);
      }
    }

    it('connection refused', async () => {
      const url = await stubServer(createNetServer());
      await new Promise((resolve) => stub!.close(resolve));
      await expectCannotAsk(url, new RegExp(`^flex-auth test: cannot reach ${url}: .*ECONNREFUSED`));
    });

    it('no answer within --timeout-ms', async () => {
      const url = await stubServer(createNetServer());
      await expectCannotAsk(url, new RegExp(`^flex-auth test: cannot reach ${url}: no answer within 200 ms`), ['--timeout-ms', '200']);
    });

    it('an answer that is not HTTP', async () => {
      const url = await stubServer(createNetServer((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n')));
      await expectCannotAsk(url, new RegExp(`^flex-auth test: cannot reach ${url}: .*HTTP`));
    });

    it('HTTP 403, after the first case only', async () => {
      let requests = 0;
      const url = await stubServer(createHttpServer((_request, response) => {
        requests++;
        response.writeHead(403, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { code: 'forbidden', message: 'caller is not allowed' } }));
      }));
      await expectCannotAsk(url, new RegExp(`^flex-auth test: not allowed by ${url}: HTTP 403: caller is not allowed \\(give --token-file with a bearer token it accepts\\)$`, 'm'));
      expect(requests, 'one request per format').to.equal(3);
    });
  });

  it('shows each failure with its expected and actual decision, and exits 1', async () => {
    const file = await testFile('failing.json', {
      schema: 'flex-auth.tests/v1',
      registry: PRODUCTION_REGISTRY,
      cases: [
        { name: 'holds', request: selfSign('agt-state-hub-bridge'), expect: { allow: true } },
        { name: 'wrong on purpose', request: selfSign('agt-state-hub-bridge', { ttl: '999h' }), expect: { allow: true, grant: { ttl_seconds: 3596400 } } },
      ],
    });
    const result = await runCli(['test', file]);
    expect(result.code, result.stderr).to.equal(1);
    expect(result.stdout).to.match(/ok +holds/);
    expect(result.stdout).to.match(/FAIL wrong on purpose\n +expected: allow=true ttl_seconds=3596400\n +actual: +allow=false reason=ttl_out_of_bounds decision:[0-9a-f]{16} \(requested ttl 999h exceeds max 8h\)/);
    expect(result.stdout).to.include('1 passed, 1 failed');
  });

  it('writes JUnit XML that an XML parser reads, with names escaped', async () => {
    const tricky = 'quotes " and \' <tags> & ampersands';
    const file = await testFile('junit.yaml', [
      'schema: flex-auth.tests/v1',
      `registry: ${JSON.stringify(path.relative(dir, PRODUCTION_REGISTRY))}`,
      'cases:',
      `  - name: ${JSON.stringify(tricky)}`,
      '    request: { subject: { id: agt-state-hub-bridge }, action: sign, resource: { id: agt-state-hub-bridge } }',
      '    expect: { allow: false, reason: actor_disabled }',
      '  - name: passes',
      '    request: { subject: { id: agt-state-hub-bridge }, action: sign, resource: { id: agt-state-hub-bridge } }',
      '    expect: { allow: true, reason: allowed }',
    ].join('\n'));
    const result = await runCli(['test', file, '--format', 'junit']);
    expect(result.code, result.stderr).to.equal(1);
    const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase'].includes(name) });
    const xml = parser.parse(result.stdout, true);
    const suites = xml.testsuites;
    expect(suites).to.include({ tests: '2', failures: '1' });
    const suite = suites.testsuite[0];
    expect(suite).to.include({ name: file, tests: '2', failures: '1' });
    const [failed, passed] = suite.testcase;
    expect(failed.name).to.equal(tricky);
    expect(failed.failure.message).to.match(/^expected allow=false reason=actor_disabled, got allow=true reason=allowed/);
    expect(passed).to.deep.equal({ classname: file, name: 'passes' });
  });

  describe('bad input exits 2 and names the path', () => {
    const goodCase = { name: 'ok', request: selfSign('agt-state-hub-bridge'), expect: { allow: true } };

    it('an unknown key', async () => {
      const file = await testFile('unknown-key.json', {
        schema: 'flex-auth.tests/v1', registry: PRODUCTION_REGISTRY,
        cases: [{ ...goodCase, expect: { allow: true, reasn: 'allowed' } }],
      });
      const result = await runCli(['test', file]);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.include(`${file}: cases[0].expect.reasn: unknown key`);
      expect(result.stdout).to.equal('');
    });

    it('a registry that does not exist, named relative to the test file', async () => {
      const file = await testFile('missing-registry.json', { schema: 'flex-auth.tests/v1', registry: 'nowhere/registry.json', cases: [goodCase] });
      const result = await runCli(['test', file]);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.include(`${file}: registry: cannot read ${path.join(dir, 'nowhere', 'registry.json')}: no such file`);
    });

    it('a file that names no registry, run offline', async () => {
      const file = await testFile('no-registry.json', { schema: 'flex-auth.tests/v1', cases: [goodCase] });
      const result = await runCli(['test', file]);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.include(`${file}: registry: names no registry`);
    });

    it('a request the server would refuse, with every error at once', async () => {
      const file = await testFile('bad-request.json', {
        schema: 'flex-auth.tests/v1', registry: PRODUCTION_REGISTRY,
        cases: [goodCase, { name: 'bad', request: { ...selfSign('agt-state-hub-bridge', { ttl: '3600' }), extra: 1 }, expect: { allow: 'yes' } }],
      });
      const result = await runCli(['test', file]);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.include(`${file}: cases[1].expect.allow: must be true or false`);
      expect(result.stderr).to.include(`${file}: cases[1].request.context.ttl: `);
      expect(result.stderr).to.include(`${file}: cases[1].request.extra: unknown key`);
    });

    it('YAML that does not parse, with its line', async () => {
      const file = await testFile('broken.yaml', 'schema: flex-auth.tests/v1\ncases:\n  - name: [unclosed\n');
      const result = await runCli(['test', file]);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.match(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\(root\\): line \\d+, column \\d+: `));
    });

    it('an invalid registry given with --registry', async () => {
      const registry = await testFile('bad-registry.json', { schema: 'flex-auth.registry/v1', actors: [{ name: 'agt-x' }] });
      const file = await testFile('good.json', { schema: 'flex-auth.tests/v1', cases: [goodCase] });
      const result = await runCli(['test', file, '--registry', registry]);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.include(`${registry}: actors[0].type: `);
    });
  });
});
