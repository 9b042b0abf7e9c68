import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkFor } from '../helpers/documents.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCli, startServer, stopAll } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { DECISION_ID, STACK_FRAME, postCheck } from '../helpers/http.js';
import { PRODUCTION_REGISTRY, REQUESTS_DIR, TEMPLATE_REGISTRY } from '../helpers/paths.js';
import type { CommandResult as CliResult } from '../helpers/process.js';
import { expectedRevision } from '../helpers/revision.js';

const productionText = readFileSync(PRODUCTION_REGISTRY, 'utf8');
const production = JSON.parse(productionText);

function parseStdout(result: CliResult): any {
  try {
    return JSON.parse(result.stdout);
  } catch {
    throw new Error(`stdout is not JSON (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

function exitOfDecision(decision: { allow: boolean }): number {
  return decision.allow ? 0 : 1;
}

describe('cli check', function () {
  this.timeout(20_000);
  let dir: string;
  let registryFile: string;
  let server: ServerProcess;
  const requestFile = (name: string) => path.join(dir, name);

  before(async function () {
    dir = await makeTempDir();
    registryFile = path.join(dir, 'registry.json');
    await writeFile(registryFile, productionText);
    server = await startServer(['--registry-file', registryFile]);
    await server.stdout.waitForMessage('registry loaded', { revision: expectedRevision(production) });
  });

  after(async function () {
    await stopAll(server);
    await removeDir(dir);
  });

  const examples = readdirSync(REQUESTS_DIR).filter((f) => f.endsWith('.json')).sort();

  it('has example requests to compare', function () {
    expect(examples.length).to.be.above(0);
  });

  for (const name of examples) {
    const expectedExit = name.startsWith('allow-') ? 0 : 1;
    it(`gives the server's decision and decision_id for ${name}, exit ${expectedExit}`, async function () {
      const file = path.join(REQUESTS_DIR, name);
      const http = await postCheck(server.url, readFileSync(file, 'utf8'));
      const cli = await runCli(['check', '--registry', registryFile, file]);
      expect(http.status, `${name}: ${http.text}`).to.equal(200);
      const decision = parseStdout(cli);
      expect(decision.decision_id).to.match(DECISION_ID);
      expect(decision.decision_id).to.equal(http.body.decision_id);
      expect(decision).to.deep.equal(http.body);
      expect(cli.code, `exit code; stderr: ${cli.stderr}`).to.equal(exitOfDecision(http.body));
      expect(cli.code).to.equal(expectedExit);
    });
  }

  it('gives the same decision_id as the server for requests relying on defaults and ttl spellings', async function () {
    const requests = [
      checkFor('agt-state-hub-bridge'),
      checkFor('agt-state-hub-bridge', { ttl: 5400 }),
      checkFor('agt-state-hub-bridge', { ttl: '1h30m', metadata: { ticket: 'OPS-9' } }),
      checkFor('adm-example', { principals: ['ops-admin', 'adm-example', 'ops-admin'] }, 'iam:bob'),
    ];
    for (const [index, body] of requests.entries()) {
      const file = requestFile(`defaults-${index}.json`);
      await writeFile(file, JSON.stringify(body));
      const http = await postCheck(server.url, body);
      const cli = await runCli(['check', '--registry', registryFile, file]);
      expect(parseStdout(cli).decision_id, JSON.stringify(body)).to.equal(http.body.decision_id);
    }
  });

  it('reads the request from stdin with -', async function () {
    const body = JSON.stringify(checkFor('agt-state-hub-bridge', { ttl: '2h' }));
    const [cli, http] = await Promise.all([
      runCli(['check', '--registry', registryFile, '-'], { stdin: body }),
      postCheck(server.url, body),
    ]);
    expect(cli.code, cli.stderr).to.equal(0);
    expect(parseStdout(cli)).to.deep.equal(http.body);
  });

  it('adds the same trace as the server with --explain', async function () {
    const body = checkFor('atm-backup-daily', { principals: ['backup'], ttl: '13h' }, 'iam:carol');
    const [cli, plain, http] = await Promise.all([
      runCli(['check', '--registry', registryFile, '--explain', '-'], { stdin: JSON.stringify(body) }),
      runCli(['check', '--registry', registryFile, '-'], { stdin: JSON.stringify(body) }),
      postCheck(server.url, body, { query: '?explain=true' }),
    ]);
    expect(cli.code, cli.stderr).to.equal(1); // 13h is above atm-backup-daily's max
    const decision = parseStdout(cli);
    expect(decision.trace).to.be.an('array').with.lengthOf(10);
    expect(decision.trace).to.deep.equal(http.body.trace);
    expect(decision).to.deep.equal(http.body);
    expect(parseStdout(plain)).to.not.have.property('trace');
    expect(parseStdout(plain).decision_id).to.equal(decision.decision_id);
  });

  it('keeps the decision_id for a re-formatted registry and changes it for a changed registry', async function () {
    const body = JSON.stringify(checkFor('agt-state-hub-bridge', { ttl: '1h' }));
    const reformatted = requestFile('reformatted-registry.json');
    await writeFile(reformatted, JSON.stringify(production));
    const changedDoc = structuredClone(production);
    changedDoc.metadata.generated_at = '2026-06-24T12:00:00Z';
    const changed = requestFile('changed-registry.json');
    await writeFile(changed, JSON.stringify(changedDoc, null, 2));

    const decisions: any[] = [];
    for (const registry of [registryFile, reformatted, changed]) {
      decisions.push(parseStdout(await runCli(['check', '--registry', registry, '-'], { stdin: body })));
    }
    const [a, b, c] = decisions;
    expect(b.registry_revision).to.equal(a.registry_revision);
    expect(b.decision_id).to.equal(a.decision_id);
    expect(c.registry_revision).to.equal(expectedRevision(changedDoc));
    expect(c.registry_revision).to.not.equal(a.registry_revision);
    expect(c.decision_id).to.not.equal(a.decision_id);
    expect(c.allow).to.equal(true);
  });

  describe('bad input exits 2', function () {
    async function expectBadInput(args: string[], stdin?: string): Promise<CliResult> {
      const result = await runCli(args, stdin === undefined ? {} : { stdin });
      expect(result.code, `exit code of flex-auth ${args.join(' ')}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).to.equal(2);
      expect(result.stderr).to.not.equal('');
      expect(result.stderr + result.stdout).to.not.match(STACK_FRAME);
      expect(result.stdout).to.not.match(/"allow"\s*:\s*true/);
      return result;
    }

    it('exits 2 for request text that is not JSON', async function () {
      await expectBadInput(['check', '--registry', registryFile, '-'], '{"subject": ');
    });

    it('exits 2 for a request with an unknown key and names its path', async function () {
      const result = await expectBadInput(
        ['check', '--registry', registryFile, '-'],
        JSON.stringify({ ...checkFor('agt-state-hub-bridge', { ttl: '1h', ttl_max: '2h' }) }),
      );
      expect(result.stderr).to.include('context.ttl_max');
    });

    it('exits 2 for a request with an invalid ttl', async function () {
      const result = await expectBadInput(['check', '--registry', registryFile, '-'], JSON.stringify(checkFor('agt-state-hub-bridge', { ttl: '5x' })));
      expect(result.stderr).to.include('context.ttl');
    });

    it('exits 2 without --registry', async function () {
      await expectBadInput(['check', '-'], JSON.stringify(checkFor('agt-state-hub-bridge')));
    });

    it('exits 2 for an invalid registry and names the error path', async function () {
      const invalid = structuredClone(production);
      invalid.actors[0].allowed_subject = invalid.actors[0].allowed_subjects;
      const file = requestFile('invalid-registry.json');
      await writeFile(file, JSON.stringify(invalid));
      const result = await expectBadInput(['check', '--registry', file, '-'], JSON.stringify(checkFor('agt-state-hub-bridge')));
      expect(result.stderr).to.include('actors[0].allowed_subject');
    });

    it('exits 2 for a registry file that does not exist', async function () {
      await expectBadInput(['check', '--registry', requestFile('missing.json'), '-'], JSON.stringify(checkFor('agt-state-hub-bridge')));
    });

    it('exits 2 for an unknown flag', async function () {
      await expectBadInput(['check', '--registry', registryFile, '--verbose', '-'], JSON.stringify(checkFor('agt-state-hub-bridge')));
    });
  });
});

describe('cli validate', function () {
  this.timeout(20_000);
  let dir: string;

  before(async function () {
    dir = await makeTempDir();
  });

  after(async function () {
    await removeDir(dir);
  });

  function expectCounts(output: string, document: any): void {
    const byType: Record<string, number> = {};
    for (const actor of document.actors) byType[actor.type] = (byType[actor.type] ?? 0) + 1;
    expect(output).to.match(new RegExp(`actors\\W+${document.actors.length}\\b`));
    for (const [type, n] of Object.entries(byType)) expect(output).to.match(new RegExp(`\\b${type}\\W+${n}\\b`), type);
    expect(output).to.match(new RegExp(`relationships\\W+${(document.relationships ?? []).length}\\b`));
  }

  for (const file of [PRODUCTION_REGISTRY, TEMPLATE_REGISTRY]) {
    it(`exits 0 with the revision and counts of ${path.basename(file)}`, async function () {
      const document = JSON.parse(readFileSync(file, 'utf8'));
      const result = await runCli(['validate', file]);
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      expect(result.stdout).to.include(expectedRevision(document));
      expectCounts(result.stdout, document);
    });
  }

  it('validates several files in one call', async function () {
    const result = await runCli(['validate', PRODUCTION_REGISTRY, TEMPLATE_REGISTRY]);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.include(expectedRevision(production));
    expect(result.stdout).to.include(expectedRevision(JSON.parse(readFileSync(TEMPLATE_REGISTRY, 'utf8'))));
  });

  it('exits 2 for an unknown flag, as its usage says, rather than reading it as a file', async function () {
    const result = await runCli(['validate', '--json', PRODUCTION_REGISTRY]);
    expect(result.code).to.equal(2);
    expect(result.stdout).to.equal('');
    expect(result.stderr).to.include('unknown option --json').and.include('flex-auth validate PATH...');
  });

  it('exits 1 and lists every error with its path for a document with several errors', async function () {
    const document = {
      schema: 'flex-auth.registry/v1',
      actors: [
        {
          name: 'agt-broken',
          type: 'agent',
          principals: ['agt-broken'],
          ttl: { default: '2h', max: '1h' },
          allowed_subject: ['agt-broken'],
        },
        { name: 'agt-fine', type: 'agent', principals: ['agt-fine'], ttl: { default: '1h', max: '2h' }, allowed_subjects: ['agt-fine'] },
      ],
      relationships: [
        { object: 'actor:atm-ghost', relation: 'signer', subject: 'iam:alice' },
        { object: 'group:ring-a', relation: 'member', subject: 'group:ring-b#member' },
        { object: 'group:ring-b', relation: 'member', subject: 'group:ring-a#member' },
      ],
    };
    const file = path.join(dir, 'several-errors.json');
    await writeFile(file, JSON.stringify(document, null, 2));
    const result = await runCli(['validate', file]);
    expect(result.code, result.stdout + result.stderr).to.equal(1);
    const output = result.stdout + result.stderr;
    const lines = output.split('\n').map((line) => line.trim());
    expect(lines, output).to.include('actors[0].ttl.max: must be >= ttl.default');
    expect(lines, output).to.include('actors[0].allowed_subject: unknown key');
    expect(lines.some((l) => l.startsWith('relationships[0].object:') && l.includes('atm-ghost')), output).to.equal(true);
    expect(lines.some((l) => /^relationships\[[12]\]/.test(l) && /cycle/i.test(l)), output).to.equal(true);
    expect(output).to.not.include('actors[1]');
    expect(output).to.not.match(STACK_FRAME);
  });

  it('exits 1 when any of several files is invalid, and still reports the valid one', async function () {
    const file = path.join(dir, 'bad-json.json');
    await writeFile(file, '{ "schema": ');
    const result = await runCli(['validate', PRODUCTION_REGISTRY, file]);
    expect(result.code, result.stdout + result.stderr).to.equal(1);
    expect(result.stdout).to.include(expectedRevision(production));
    expect(result.stdout + result.stderr).to.include(file);
  });

  it('exits 1 for a file that does not exist', async function () {
    const result = await runCli(['validate', path.join(dir, 'missing.json')]);
    expect(result.code, result.stdout + result.stderr).to.equal(1);
  });
});

describe('cli commands', function () {
  this.timeout(20_000);
  it('exits 2 for an unknown command', async function () {
    const result = await runCli(['frobnicate']);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include('frobnicate');
  });

});
