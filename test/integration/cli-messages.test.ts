import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCli, startServer, stopAll } from '../helpers/flex-auth.js';
import { CLI, PACKAGE_ROOT, PRODUCTION_REGISTRY, REQUESTS_DIR } from '../helpers/paths.js';
import { runCommand } from '../helpers/process.js';
import { expectedRevision } from '../helpers/revision.js';
import type { ServerProcess } from '../helpers/flex-auth.js';

/** What a new operator sees when they get something wrong: each message says what to do. */

const cli = (args: readonly string[], env: Record<string, string> = {}, stdin = '') =>
  runCommand(process.execPath, [CLI, ...args], { env, stdin, timeoutMs: 15_000 });

describe('cli messages', function () {
  this.timeout(30_000);

  describe('a bad environment setting is named as the user set it', () => {
    for (const [name, value, message] of [
      ['FLEX_AUTH_PORT', 'abc', 'FLEX_AUTH_PORT must be a whole number from 0 to 65535 (got abc)'],
      ['FLEX_AUTH_SHUTDOWN_DELAY', '1d', 'FLEX_AUTH_SHUTDOWN_DELAY must be a duration from 0s to 5m (got 1d)'],
      ['FLEX_AUTH_REGISTRY_CONFIGMAP', 'no-slash', 'FLEX_AUTH_REGISTRY_CONFIGMAP must be NAMESPACE/NAME'],
    ] as const) {
      it(name, async () => {
        const result = await cli(['serve', '--host', '127.0.0.1'], { [name]: value });
        expect(result.code).to.equal(2);
        expect(result.stderr).to.include(`flex-auth serve: ${message}`);
      });
    }

    it('and the flag as the flag', async () => {
      const result = await cli(['serve', '--port', 'abc'], { FLEX_AUTH_PORT: '8080' });
      expect(result.code).to.equal(2);
      expect(result.stderr).to.include('flex-auth serve: --port must be a whole number from 0 to 65535 (got abc)');
    });
  });

  describe('a misspelt flag', () => {
    for (const [args, said] of [
      [['check', '--registy', PRODUCTION_REGISTRY], 'flex-auth check: unknown option --registy (did you mean --registry?)'],
      [['serve', '--prot', '8080'], 'flex-auth serve: unknown option --prot (did you mean --port?)'],
      [['smoke', '--url', 'http://127.0.0.1:1', '--expect-denny', 'x'], 'flex-auth smoke: unknown option --expect-denny (did you mean --expect-deny?)'],
    ] as const) {
      it(`${args[0]}: says "${said.slice(said.indexOf(': ') + 2)}"`, async () => {
        const result = await runCli(args);
        expect(result.code).to.equal(2);
        expect(result.stderr.split('\n')[0]).to.equal(said);
        expect(result.stderr).not.to.include('positional argument');
      });
    }

    it('suggests nothing when no flag is close', async () => {
      const result = await runCli(['check', '--zzzzzzzzzz']);
      expect(result.code).to.equal(2);
      expect(result.stderr.split('\n')[0]).to.equal('flex-auth check: unknown option --zzzzzzzzzz');
    });
  });

  describe('a file that cannot be read says why in words', () => {
    it('no such file', async () => {
      const result = await runCli(['check', '--registry', 'no/such/registry.json', path.join(REQUESTS_DIR, 'allow-iam-subject.json')]);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.include('cannot read no/such/registry.json: no such file');
      expect(result.stderr).not.to.match(/ENOENT/);
    });

    it('a directory', async () => {
      const result = await runCli(['validate', REQUESTS_DIR]);
      expect(result.code).to.equal(1);
      expect(result.stdout).to.include(`cannot read ${REQUESTS_DIR}: is a directory, not a file`);
      expect(result.stdout + result.stderr).not.to.match(/EISDIR/);
    });

    it('bytes that are not UTF-8: refused, as the service refuses them, not read with replacements', async () => {
      const dir = await makeTempDir('flex-auth-not-utf8-');
      try {
        const file = path.join(dir, 'registry.json');
        const bytes = readFileSync(PRODUCTION_REGISTRY);
        bytes[bytes.indexOf('"')] = 0xff;
        writeFileSync(file, bytes);
        const check = await runCli(['check', '--registry', file, path.join(REQUESTS_DIR, 'allow-iam-subject.json')]);
        expect(check.code).to.equal(2);
        expect(check.stderr).to.include(`${file} is not valid UTF-8`);
        const validate = await runCli(['validate', file]);
        expect(validate.code).to.equal(1);
        expect(validate.stdout).to.include(`${file} is not valid UTF-8`);
      } finally {
        await removeDir(dir);
      }
    });

    it('diff: exit 1, as for an invalid document (contract section 10 names no other)', async () => {
      const result = await runCli(['diff', PRODUCTION_REGISTRY, 'no/such/registry.json']);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.include('no/such/registry.json: invalid\n  cannot read no/such/registry.json: no such file');
      expect(result.stdout).to.equal('');
    });
  });

  it('status without cluster credentials: exit 1 (contract section 13), saying what to set', async () => {
    const home = await makeTempDir('flex-auth-no-kube-');
    try {
      const result = await runCli(['status'], { env: { KUBECONFIG: '', HOME: home } });
      expect(result.code).to.equal(1);
      expect(result.stderr).to.equal('flex-auth status: no Kubernetes credentials: set KUBECONFIG, or run in a pod with a service account token\n');
      expect(result.stdout).to.equal('');
    } finally {
      await removeDir(home);
    }
  });

  describe('a KUBECONFIG that cannot be read says which file and why', () => {
    let dir: string;
    before(async () => {
      dir = await makeTempDir('flex-auth-kubeconfig-');
    });
    after(async () => {
      await removeDir(dir);
    });

    it('status: exit 1, no cluster to ask', async () => {
      const missing = path.join(dir, 'nope');
      const result = await runCli(['status'], { env: { KUBECONFIG: missing } });
      expect(result.code).to.equal(1);
      expect(result.stderr).to.equal(`flex-auth status: cannot read KUBECONFIG ${missing}: no such file\n`);
      const directory = await runCli(['status'], { env: { KUBECONFIG: dir } });
      expect(directory.stderr).to.equal(`flex-auth status: cannot read KUBECONFIG ${dir}: is a directory, not a file\n`);
    });

    it('serve --registry-configmap: exit 2', async () => {
      const missing = path.join(dir, 'nope');
      const result = await runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--registry-configmap', 'flex-auth/flex-auth-registry'], { env: { KUBECONFIG: missing } });
      expect(result.code).to.equal(2);
      expect(result.stderr).to.equal(`flex-auth serve: cannot read KUBECONFIG ${missing}: no such file\n`);
    });
  });

  it('status refuses a namespace or name serve would refuse (exit 2), before it looks for credentials', async () => {
    for (const [flag, value] of [['--namespace', 'flex.auth'], ['--namespace', 'NS!'], ['--name', 'Bad_Name']] as const) {
      const result = await runCli(['status', flag, value], { env: { KUBECONFIG: '' } });
      expect(result.code, value).to.equal(2);
      expect(result.stderr, value).to.include(`${flag} must be`);
    }
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = await runCli(['--version']);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.equal(`flex-auth ${version}\n`);
  });

  it('help COMMAND prints what COMMAND --help prints', async () => {
    for (const command of ['serve', 'check', 'test', 'diff', 'smoke']) {
      const help = await runCli(['help', command]);
      const flag = await runCli([command, '--help']);
      expect(help.code, command).to.equal(0);
      expect(help.stdout, command).to.equal(flag.stdout);
      expect(help.stdout, command).to.match(new RegExp(`^flex-auth ${command} `));
    }
    const typo = await runCli(['help', 'sevre']);
    expect(typo.code).to.equal(2);
    expect(typo.stderr.split('\n')[0]).to.equal('flex-auth: unknown command sevre (did you mean serve?)');
  });

  it('--help lists every command with the synopsis its own --help gives, help itself included', async () => {
    const overview = await runCli(['--help']);
    expect(overview.code).to.equal(0);
    const commands = [...new Set([...overview.stdout.matchAll(/^ {2}flex-auth ([a-z]+)/gm)].map((m) => m[1]!))];
    expect(commands).to.include.members(['serve', 'check', 'validate', 'test', 'diff', 'configmap', 'audit', 'status', 'smoke', 'help']);
    for (const command of commands.filter((c) => c !== 'help')) {
      const own = (await runCli([command, '--help'])).stdout.split('\n\n')[0]!;
      expect(overview.stdout, command).to.include(own.replace(/^/gm, '  '));
    }
    // The flags a newcomer missed there.
    expect(overview.stdout).to.match(/flex-auth smoke [^]*--diagnostic-url URL/);
    expect(overview.stdout).to.match(/flex-auth test [^]*--timeout-ms/);
  });

  it('help --help (and help help) prints the overview, exit 0', async () => {
    const overview = (await runCli(['--help'])).stdout;
    for (const args of [['help', '--help'], ['help', '-h'], ['help', 'help'], ['help']]) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).to.equal(0);
      expect(result.stdout, args.join(' ')).to.equal(overview);
      expect(result.stderr, args.join(' ')).to.equal('');
    }
  });

  it('validate documents its exit codes, 2 included', async () => {
    const usage = (await runCli(['validate', '--help'])).stdout;
    expect(usage).to.match(/Exit 0 .*valid/);
    expect(usage).to.include('2 on a usage error');
    expect((await runCli(['validate'])).code).to.equal(2);
  });

  describe('check reading stdin', () => {
    const request = readFileSync(path.join(REQUESTS_DIR, 'allow-iam-subject.json'), 'utf8');

    it('says it is waiting for a request when stdin is a terminal', async () => {
      // script(1) gives the command a pseudo-terminal; Ctrl-D (\x04) ends the input there.
      const command = `"${process.execPath}" "${CLI}" check --registry "${PRODUCTION_REGISTRY}"`;
      const result = await runCommand('script', ['-qec', command, '/dev/null'], { stdin: `${request.trim()}\n\x04` });
      expect(result.code, result.stdout).to.equal(0);
      expect(result.stdout).to.include('waiting for a check request (JSON) on stdin; end it with Ctrl-D');
      expect(result.stdout).to.include('"reason": "allowed"');
    });

    it('says nothing of the kind when stdin is a pipe', async () => {
      const result = await runCli(['check', '--registry', PRODUCTION_REGISTRY], { stdin: request });
      expect(result.code).to.equal(0);
      expect(result.stderr).to.equal('');
    });
  });

  describe('smoke', () => {
    let server: ServerProcess;
    let dir: string;
    const revision = expectedRevision(JSON.parse(readFileSync(PRODUCTION_REGISTRY, 'utf8')));

    before(async () => {
      dir = await makeTempDir();
      server = await startServer(['--registry-file', PRODUCTION_REGISTRY]);
    });
    after(async () => {
      await stopAll(server);
      await removeDir(dir);
    });

    it('prints the registry source and revision it saw, and passes with the right --expect-revision', async () => {
      const result = await runCli(['smoke', '--url', server.url, '--expect-revision', revision]);
      expect(result.code, result.stdout).to.equal(0);
      expect(result.stdout).to.include(`ok   registry: source=file:${PRODUCTION_REGISTRY} revision=${revision}\n`);
    });

    it('fails on another revision, saying which it expected', async () => {
      const other = `sha256:${'0'.repeat(64)}`;
      const result = await runCli(['smoke', '--url', server.url, '--expect-revision', other]);
      expect(result.code).to.equal(1);
      expect(result.stdout).to.include(`FAIL registry: source=file:${PRODUCTION_REGISTRY} revision=${revision} (expected ${other})`);
    });

    it('checks each --expect-deny, with its reason when given', async () => {
      const held = await runCli(['smoke', '--url', server.url, '--expect-deny', 'atm-log-rotate:actor_disabled', '--expect-deny', 'agt-gone']);
      expect(held.code, held.stdout).to.equal(0);
      expect(held.stdout).to.match(/ok   deny atm-log-rotate with actor_disabled: reason=actor_disabled decision:[0-9a-f]{16}/);
      expect(held.stdout).to.match(/ok   deny agt-gone: reason=unknown_actor_resource/);

      const allowed = await runCli(['smoke', '--url', server.url, '--expect-deny', 'agt-inventory-collector:actor_disabled']);
      expect(allowed.code).to.equal(1);
      expect(allowed.stdout).to.match(/FAIL deny agt-inventory-collector with actor_disabled: reason=allowed/);

      const otherReason = await runCli(['smoke', '--url', server.url, '--expect-deny', 'atm-log-rotate:unknown_actor_resource']);
      expect(otherReason.code).to.equal(1);
      expect(otherReason.stdout).to.match(/FAIL deny atm-log-rotate with unknown_actor_resource: reason=actor_disabled/);
    });

    it('refuses a malformed --expect-deny as a usage error', async () => {
      const result = await runCli(['smoke', '--url', server.url, '--expect-deny', 'atm-log-rotate:disabled']);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.include('--expect-deny must be ACTOR or ACTOR:REASON');
    });

    it('on a 404 from /healthz, says a --diagnostic-port server wants --diagnostic-url', async () => {
      const split = await startServer(['--registry-file', PRODUCTION_REGISTRY, '--diagnostic-port', '0']);
      try {
        const diagnosticUrl = `http://127.0.0.1:${split.stdout.messages('listening')[0]!.diagnostic_port as number}`;
        const missed = await runCli(['smoke', '--url', split.url]);
        expect(missed.code).to.equal(1);
        expect(missed.stdout).to.include('FAIL healthz: HTTP 404 (a flex-auth with --diagnostic-port serves /healthz on that port: pass --diagnostic-url, such as http://HOST:9090)\n');
        const found = await runCli(['smoke', '--url', split.url, '--diagnostic-url', diagnosticUrl]);
        expect(found.code, found.stdout).to.equal(0);
        // Told where /healthz is, a 404 there is not about the diagnostic port.
        const wrong = await runCli(['smoke', '--url', split.url, '--diagnostic-url', split.url]);
        expect(wrong.stdout).to.include('FAIL healthz: HTTP 404\n');
      } finally {
        await stopAll(split);
      }
    });

    it('lists --timeout-ms, --expect-revision and --expect-deny in its synopsis', async () => {
      const usage = (await runCli(['smoke', '--help'])).stdout.split('\n\n')[0]!;
      for (const flag of ['--timeout-ms', '--token-file', '--expect-revision', '--expect-deny']) expect(usage).to.include(flag);
    });
  });
});
