import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCli } from '../helpers/flex-auth.js';
import { PRODUCTION_REGISTRY } from '../helpers/paths.js';
import { expectedRevision } from '../helpers/revision.js';

const production = JSON.parse(readFileSync(PRODUCTION_REGISTRY, 'utf8'));

describe('cli diff', function () {
  this.timeout(20_000);
  let dir: string;

  before(async () => {
    dir = await makeTempDir('flex-auth-cli-diff-');
  });
  after(async () => removeDir(dir));

  /** The production snapshot with `change` applied to a copy, written to `name`. */
  async function variant(name: string, change: (doc: any) => void): Promise<{ file: string; doc: any }> {
    const doc = structuredClone(production);
    change(doc);
    const file = path.join(dir, name);
    await writeFile(file, JSON.stringify(doc, null, 2));
    return { file, doc };
  }

  const actor = (doc: any, name: string) => doc.actors.find((a: any) => a.name === name);

  it('finds nothing between a registry and itself: exit 0', async () => {
    const result = await runCli(['diff', PRODUCTION_REGISTRY, PRODUCTION_REGISTRY]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.include('no change in effective access');
  });

  it('exits 3 when a subject gains access through a nested group, naming the path, in the contract JSON', async () => {
    const { file, doc } = await variant('widened.json', (d) => d.relationships.push({ object: 'group:oncall', relation: 'member', subject: 'iam:dave' }));
    const result = await runCli(['diff', PRODUCTION_REGISTRY, file, '--format', 'json']);
    expect(result.code, result.stderr).to.equal(3);
    expect(JSON.parse(result.stdout)).to.deep.equal({
      from: expectedRevision(production),
      to: expectedRevision(doc),
      widening: true,
      changes: [{ actor: 'atm-backup-daily', change: 'subjects_added', values: ['iam:dave via group:backup-operators > group:oncall'], widening: true }],
    });
  });

  it('exits 0 when access only narrows: an actor disabled, a max ttl lowered', async () => {
    const { file } = await variant('narrowed.json', (d) => {
      actor(d, 'agt-inventory-collector').disabled = true;
      actor(d, 'agt-state-hub-bridge').ttl.max = '4h';
    });
    const result = await runCli(['diff', PRODUCTION_REGISTRY, file]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/narrows agt-inventory-collector actor_disabled\n/);
    expect(result.stdout).to.match(/narrows agt-state-hub-bridge ttl_max_lowered: 8h -> 4h\n/);
    expect(result.stdout).to.include('2 changes, 0 widening');
  });

  it('labels a disabled actor removed or added `changes`, as it gives and takes no access; an enabled one removed `narrows`', async () => {
    const { file } = await variant('removed.json', (d) => {
      d.actors = d.actors.filter((a: any) => a.name !== 'atm-log-rotate' && a.name !== 'agt-inventory-collector');
      d.actors.push({ ...structuredClone(actor(production, 'atm-log-rotate')), name: 'atm-log-rotate-v2' });
    });
    const result = await runCli(['diff', PRODUCTION_REGISTRY, file]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/\n {2}narrows agt-inventory-collector actor_removed:\n/);
    expect(result.stdout).to.match(/\n {2}changes atm-log-rotate actor_removed:\n/);
    expect(result.stdout).to.match(/\n {2}changes atm-log-rotate-v2 actor_added:\n/);
    const json = JSON.parse((await runCli(['diff', PRODUCTION_REGISTRY, file, '--format', 'json'])).stdout);
    expect(json.widening).to.equal(false);
    for (const change of json.changes) expect(Object.keys(change).sort()).to.deep.equal(['actor', 'change', 'values', 'widening']);
  });

  it('says in text that a widening change needs a human yes', async () => {
    const { file } = await variant('enabled.json', (d) => {
      actor(d, 'atm-log-rotate').disabled = false;
    });
    const result = await runCli(['diff', PRODUCTION_REGISTRY, file]);
    expect(result.code).to.equal(3);
    expect(result.stdout).to.match(/WIDENS +atm-log-rotate actor_enabled\n/);
    expect(result.stdout).to.include('needs an explicit human yes');
  });

  it('exits 1 on an invalid document, with every error and its path', async () => {
    const { file } = await variant('invalid.json', (d) => {
      actor(d, 'agt-state-hub-bridge').allowed_subject = ['x'];
    });
    const result = await runCli(['diff', PRODUCTION_REGISTRY, file]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include(`${file}: invalid`);
    expect(result.stderr).to.include('actors[0].allowed_subject: unknown key');
    expect(result.stdout).to.equal('');
  });

  it('exits 2 on a usage error', async () => {
    const one = await runCli(['diff', PRODUCTION_REGISTRY]);
    expect(one.code).to.equal(2);
    expect(one.stderr).to.include('give exactly two registry files');
    const format = await runCli(['diff', PRODUCTION_REGISTRY, PRODUCTION_REGISTRY, '--format', 'yaml']);
    expect(format.code).to.equal(2);
    expect(format.stderr).to.include('--format must be text or json');
  });
});
