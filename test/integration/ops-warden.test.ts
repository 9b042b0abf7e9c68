import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { checkFor } from '../helpers/documents.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCli, startServer, stopAll } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { getJson, postCheck } from '../helpers/http.js';
import { CLI, PACKAGE_ROOT, PRODUCTION_REGISTRY, TEMPLATE_REGISTRY } from '../helpers/paths.js';
import { runCommand } from '../helpers/process.js';
import { expectedRevision } from '../helpers/revision.js';

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

  before(async () => {
    dir = await makeTempDir();
  });

  after(async () => {
    await stopAll(server);
    await removeDir(dir);
  });

  it('adds a new agt-* actor end to end with the documented commands', async () => {
    // The volume flex-auth reads, as a ConfigMap mounted into the pod.
    const volume = path.join(dir, 'volume');
    const mounted = path.join(volume, 'registry.json');
    await mkdir(volume);
    await writeFile(mounted, await readFile(PRODUCTION_REGISTRY, 'utf8'));
    server = await startServer(['--registry-file', mounted]);

    // ops-warden's regenerated snapshot: the production registry plus one new agent.
    const snapshot = await readJson(PRODUCTION_REGISTRY);
    snapshot.actors.push({
      name: 'agt-new-thing', type: 'agent', actions: ['sign'], principals: ['agt-new-thing'],
      ttl: { default: '1h', min: '5m', max: '8h' }, allowed_subjects: ['agt-new-thing', 'iam:agt-new-thing'], disabled: false,
    });
    const snapshotFile = path.join(dir, 'production_registry_snapshot.json');
    await writeFile(snapshotFile, JSON.stringify(snapshot, null, 2));

    // The real CLI as `flex-auth`; `kubectl apply -f -` stands in for the API server plus the
    // kubelet: it writes the manifest's document into the mounted file with a rename, as a
    // ConfigMap volume update does. The real kubectl and API server run this in test/k8s/.
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'flex-auth'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    await writeFile(path.join(bin, 'kubectl'), `#!/usr/bin/env node
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parse } from '${path.join(PACKAGE_ROOT, 'node_modules', 'yaml', 'dist', 'index.js')}';
if (process.argv.slice(2).join(' ') !== 'apply -f -') { console.error('unexpected kubectl call'); process.exit(2); }
const manifest = parse(readFileSync(0, 'utf8'));
writeFileSync(${JSON.stringify(`${mounted}.tmp`)}, manifest.data['registry.json']);
renameSync(${JSON.stringify(`${mounted}.tmp`)}, ${JSON.stringify(mounted)});
console.log('configmap/' + manifest.metadata.name + ' configured');
`);
    await chmod(path.join(bin, 'flex-auth'), 0o755);
    await chmod(path.join(bin, 'kubectl'), 0o755);

    const before = await postCheck(server.url, checkFor('agt-new-thing'));
    expect(before.body.reason).to.equal('unknown_actor_resource');

    const result = await runCommand('bash', ['-euo', 'pipefail', '-c', await runbookBlock('add-actor')], {
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, SNAPSHOT: snapshotFile, NEW_ACTOR: 'agt-new-thing', FLEX_AUTH_URL: server.url },
    });
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    expect(result.stdout).to.include('smoke passed');

    const registry = await getJson(server.url, '/v1/registry');
    expect(registry.body.revision).to.equal(expectedRevision(snapshot));
    expect(registry.body.counts.actors).to.equal(7);
    expect((await postCheck(server.url, checkFor('agt-new-thing'))).body).to.include({ allow: true, reason: 'allowed' });
    expect((await postCheck(server.url, checkFor('agt-new-thing', undefined, 'iam:agt-new-thing'))).body.allow).to.equal(true);
    expect((await postCheck(server.url, checkFor('agt-still-unknown'))).body.reason).to.equal('unknown_actor_resource');
  });
});

