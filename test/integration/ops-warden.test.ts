import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { checkFor } from '../helpers/documents.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCli, startServer, stopAll } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { getJson, postCheck } from '../helpers/http.js';
import { CLI, EXAMPLES, PACKAGE_ROOT, PRODUCTION_REGISTRY, TEMPLATE_REGISTRY } from '../helpers/paths.js';
import { runCommand } from '../helpers/process.js';
import type { CommandResult } from '../helpers/process.js';
import { expectedRevision } from '../helpers/revision.js';

const EXAMPLE_TESTS = path.join(EXAMPLES, 'ops-warden', 'production_registry.tests.yaml');

async function readJson(file: string): Promise<Record<string, any>> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, any>;
}

describe('flex-auth configmap', () => {
  it('prints a ConfigMap with the document verbatim under the key and its revision as an annotation', async () => {
    const text = await readFile(PRODUCTION_REGISTRY, 'utf8');
    const result = await runCli(['configmap', PRODUCTION_REGISTRY]);
    expect(result.code, result.stderr).to.equal(0);
    const manifest = parse(result.stdout) as Record<string, any>;
    expect(manifest).to.include({ apiVersion: 'v1', kind: 'ConfigMap' });
    expect(manifest.metadata).to.include({ name: 'flex-auth-registry', namespace: 'flex-auth' });
    expect(Object.keys(manifest.data)).to.deep.equal(['registry.json']);
    expect(manifest.data['registry.json']).to.equal(text);
    const revision = expectedRevision(JSON.parse(text));
    expect(manifest.metadata.annotations['flex-auth/registry-revision']).to.equal(revision);
    const validated = await runCli(['validate', '-'], { stdin: manifest.data['registry.json'] as string });
    expect(validated.stdout).to.include(`revision: ${revision}`);
  });

  it('takes another name, namespace and key', async () => {
    const result = await runCli(['configmap', TEMPLATE_REGISTRY, '--name', 'reg', '--namespace', 'ops', '--key', 'r.json']);
    expect(result.code, result.stderr).to.equal(0);
    const manifest = parse(result.stdout) as Record<string, any>;
    expect(manifest.metadata).to.include({ name: 'reg', namespace: 'ops' });
    expect(Object.keys(manifest.data)).to.deep.equal(['r.json']);
  });

  it('refuses an invalid registry with exit 1, every error on stderr and nothing to apply', async () => {
    const dir = await makeTempDir();
    try {
      const bad = path.join(dir, 'bad.json');
      const document = await readJson(PRODUCTION_REGISTRY);
      document.actors[0].ttl.max = '1m';
      document.actors[1].allowed_subject = [];
      await writeFile(bad, JSON.stringify(document));
      const result = await runCli(['configmap', bad]);
      expect(result.code).to.equal(1);
      expect(result.stdout).to.equal('');
      expect(result.stderr).to.include('actors[0].ttl.max: must be >= ttl.default');
      expect(result.stderr).to.include('actors[1].allowed_subject: unknown key');
    } finally {
      await removeDir(dir);
    }
  });
});

describe('flex-auth smoke', () => {
  const servers: ServerProcess[] = [];
  let dir: string;

  before(async () => {
    dir = await makeTempDir();
  });

  after(async () => {
    await stopAll(...servers);
    await removeDir(dir);
  });

  async function serverOn(document: unknown): Promise<ServerProcess> {
    const file = path.join(dir, `registry-${servers.length}.json`);
    await writeFile(file, JSON.stringify(document));
    const server = await startServer(['--registry-file', file]);
    servers.push(server);
    return server;
  }

  it('passes against the production registry and prints only non-secret evidence', async () => {
    const server = await serverOn(await readJson(PRODUCTION_REGISTRY));
    const result = await runCli(['smoke', '--url', server.url]);
    expect(result.code, result.stdout).to.equal(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.slice(0, 4).every((line) => line.startsWith('ok'))).to.equal(true);
    expect(result.stdout).to.match(/reason=allowed decision:[0-9a-f]{16}/);
    expect(result.stdout).to.include('reason=ttl_out_of_bounds');
    expect(result.stdout).to.include('reason=unknown_actor_resource');
    expect(lines.at(-1)).to.equal(`smoke passed against ${server.url}`);
  });

  it('passes for the IAM subject of the actor', async () => {
    const server = servers[0]!;
    const result = await runCli(['smoke', '--url', server.url, '--subject', 'iam:agt-state-hub-bridge']);
    expect(result.code, result.stdout).to.equal(0);
  });

  it('fails, saying why, against a registry that lacks the actor', async () => {
    const server = await serverOn(await readJson(TEMPLATE_REGISTRY));
    const result = await runCli(['smoke', '--url', server.url]);
    expect(result.code).to.equal(1);
    expect(result.stdout).to.match(/FAIL allow agt-state-hub-bridge .*reason=unknown_actor_resource/);
    expect(result.stdout).to.include('smoke FAILED');
  });

  it('fails, saying why, against a registry whose max ttl allows the too-long request', async () => {
    const document = await readJson(PRODUCTION_REGISTRY);
    document.actors[0].ttl.max = '1000h';
    const server = await serverOn(document);
    const result = await runCli(['smoke', '--url', server.url]);
    expect(result.code).to.equal(1);
    expect(result.stdout).to.match(/FAIL deny agt-state-hub-bridge ttl 999h: reason=allowed/);
  });

  it('fails against a closed port', async () => {
    const server = await serverOn(await readJson(PRODUCTION_REGISTRY));
    await server.stop();
    const result = await runCli(['smoke', '--url', server.url]);
    expect(result.code).to.equal(1);
    expect(result.stdout).to.match(/FAIL healthz: .*ECONNREFUSED/);
  });

  it('rejects a missing --url as a usage error', async () => {
    expect((await runCli(['smoke'])).code).to.equal(2);
  });
});

/** The shell block between the runbook markers in docs/ops-warden-registry-sync.md. */
async function runbookBlock(name: string): Promise<string> {
  const doc = await readFile(path.join(PACKAGE_ROOT, 'docs', 'ops-warden-registry-sync.md'), 'utf8');
  const match = new RegExp(`<!-- runbook:${name}:begin -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\s*<!-- runbook:${name}:end -->`).exec(doc);
  if (!match) throw new Error(`runbook block ${name} not found`);
  return match[1]!;
}

describe('the registry sync runbook (file source)', () => {
  let dir: string;
  let server: ServerProcess | undefined;
  let mounted: string;
  let bin: string;
  let diagnosticUrl: string;

  beforeEach(async () => {
    dir = await makeTempDir();
    // The volume flex-auth reads, as a ConfigMap mounted into the pod.
    const volume = path.join(dir, 'volume');
    mounted = path.join(volume, 'registry.json');
    await mkdir(volume);
    await writeFile(mounted, await readFile(PRODUCTION_REGISTRY, 'utf8'));
    // Health on a port of its own, as the chart deploys it: the runbook must say where it is.
    server = await startServer(['--registry-file', mounted, '--diagnostic-port', '0']);
    diagnosticUrl = `http://127.0.0.1:${server.stdout.messages('listening')[0]!.diagnostic_port as number}`;

    // The real CLI as `flex-auth`; `kubectl` stands in for the API server plus the kubelet:
    // `get` lists the registry ConfigMap holding the mounted document, `apply -f -` writes the
    // manifest's document into the mounted file with a rename, as a ConfigMap volume update does.
    // The real kubectl and API server run the publishing step in test/k8s/, and
    // test/k8s/packed-registry.test.ts reads the packed forms back.
    bin = path.join(dir, 'bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'flex-auth'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    await writeFile(path.join(bin, 'kubectl'), `#!/usr/bin/env node
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parse } from '${path.join(PACKAGE_ROOT, 'node_modules', 'yaml', 'dist', 'index.js')}';
const args = process.argv.slice(2).join(' ');
if (args === '-n flex-auth get configmap -o json') {
  const registry = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flex-auth-registry', namespace: 'flex-auth' }, data: { 'registry.json': readFileSync(${JSON.stringify(mounted)}, 'utf8') } };
  process.stdout.write(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [registry] }));
  process.exit(0);
}
// The runbook's clean-up of unused parts: a file-mounted registry has none.
if (args.startsWith('delete configmap -n flex-auth -l ')) { console.log('No resources found'); process.exit(0); }
if (args !== 'apply -f -') { console.error('unexpected kubectl call: ' + args); process.exit(2); }
const manifest = parse(readFileSync(0, 'utf8'));
writeFileSync(${JSON.stringify(`${mounted}.tmp`)}, manifest.data['registry.json']);
renameSync(${JSON.stringify(`${mounted}.tmp`)}, ${JSON.stringify(mounted)});
console.log('configmap/' + manifest.metadata.name + ' configured');
`);
    await chmod(path.join(bin, 'flex-auth'), 0o755);
    await chmod(path.join(bin, 'kubectl'), 0o755);
  });

  afterEach(async () => {
    await stopAll(server);
    await removeDir(dir);
  });

  /** ops-warden's regenerated snapshot: the production registry changed by `change`. */
  async function snapshotWith(change: (document: Record<string, any>) => void): Promise<{ file: string; document: Record<string, any> }> {
    const document = await readJson(PRODUCTION_REGISTRY);
    change(document);
    const file = path.join(dir, 'production_registry_snapshot.json');
    await writeFile(file, JSON.stringify(document, null, 2));
    return { file, document };
  }

  /** Runs a runbook block with bash -euo pipefail in the test's directory, answering `answer` to any prompt. */
  async function runBlock(name: string, env: Record<string, string>, answer = ''): Promise<CommandResult> {
    return runCommand('bash', ['-euo', 'pipefail', '-c', await runbookBlock(name)], {
      cwd: dir, stdin: answer,
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, TESTS: EXAMPLE_TESTS, FLEX_AUTH_URL: server!.url, FLEX_AUTH_DIAGNOSTIC_URL: diagnosticUrl, ...env },
    });
  }

  const newAgent = (document: Record<string, any>) => document.actors.push({
    name: 'agt-new-thing', type: 'agent', actions: ['sign'], principals: ['agt-new-thing'],
    ttl: { default: '1h', min: '5m', max: '8h' }, allowed_subjects: ['agt-new-thing', 'iam:agt-new-thing'], disabled: false,
  });

  it('adds a new agt-* actor end to end with the documented commands, after a human yes', async () => {
    const { file, document } = await snapshotWith(newAgent);
    const before = await postCheck(server!.url, checkFor('agt-new-thing'));
    expect(before.body.reason).to.equal('unknown_actor_resource');

    const result = await runBlock('add-actor', { SNAPSHOT: file, NEW_ACTOR: 'agt-new-thing' }, 'yes\n');
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    expect(result.stdout).to.match(/WIDENS +agt-new-thing actor_added/);
    expect(result.stdout).to.include(`ok   registry: source=file:${mounted} revision=${expectedRevision(document)}`);
    expect(result.stdout).to.include('smoke passed');

    const registry = await getJson(server!.url, '/v1/registry');
    expect(registry.body.revision).to.equal(expectedRevision(document));
    expect(registry.body.counts.actors).to.equal(7);
    expect((await postCheck(server!.url, checkFor('agt-new-thing'))).body).to.include({ allow: true, reason: 'allowed' });
    expect((await postCheck(server!.url, checkFor('agt-new-thing', undefined, 'iam:agt-new-thing'))).body.allow).to.equal(true);
    expect((await postCheck(server!.url, checkFor('agt-still-unknown'))).body.reason).to.equal('unknown_actor_resource');
  });

  it('publishes nothing when the human does not say yes to a widening change', async () => {
    const { file } = await snapshotWith(newAgent);
    const live = await readFile(mounted, 'utf8');
    const result = await runBlock('add-actor', { SNAPSHOT: file, NEW_ACTOR: 'agt-new-thing' }, 'no\n');
    expect(result.code).to.equal(1);
    expect(result.stdout).to.include('not published');
    expect(await readFile(mounted, 'utf8')).to.equal(live);
    expect((await postCheck(server!.url, checkFor('agt-new-thing'))).body.reason).to.equal('unknown_actor_resource');
  });

  for (const [how, change, reason] of [
    ['disables', (a: Record<string, any>) => { a.disabled = true; }, 'actor_disabled'],
    ['removes', undefined, 'unknown_actor_resource'],
  ] as const) {
    it(`${how} an actor with the documented commands, with no prompt, and smoke sees the expected ${reason}`, async () => {
      const actor = 'agt-inventory-collector';
      const { file, document } = await snapshotWith((d) => {
        if (change) change(d.actors.find((a: Record<string, any>) => a.name === actor));
        else d.actors = d.actors.filter((a: Record<string, any>) => a.name !== actor);
      });
      expect((await postCheck(server!.url, checkFor(actor))).body.allow).to.equal(true);

      // No answer on stdin: a prompt would fail the block.
      const result = await runBlock('disable-actor', { SNAPSHOT: file, OLD_ACTOR: actor, EXPECTED_REASON: reason });
      expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
      expect(result.stdout).to.match(new RegExp(`narrows ${actor} actor_(disabled|removed)`));
      expect(result.stdout).to.match(new RegExp(`ok   deny ${actor} with ${reason}: reason=${reason} decision:[0-9a-f]{16}`));
      expect(result.stdout).to.include('smoke passed');
      expect((await getJson(server!.url, '/v1/registry')).body.revision).to.equal(expectedRevision(document));
      expect((await postCheck(server!.url, checkFor(actor))).body).to.include({ allow: false, reason });
    });
  }

  it('stops a disable when the snapshot still allows the actor', async () => {
    const { file } = await snapshotWith(() => {});
    const live = await readFile(mounted, 'utf8');
    const result = await runBlock('disable-actor', { SNAPSHOT: file, OLD_ACTOR: 'agt-inventory-collector', EXPECTED_REASON: 'actor_disabled' });
    expect(result.code).to.equal(1);
    expect(result.stdout).to.include('agt-inventory-collector is still allowed');
    expect(await readFile(mounted, 'utf8')).to.equal(live);
  });
});
