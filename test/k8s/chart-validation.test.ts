/**
 * What the chart checks of an inline registry (`registry.inline`) when it renders: that it is a
 * JSON object with `"schema": "flex-auth.registry/v1"` and a non-empty `actors` list. Full
 * validation is flex-auth's, when it loads the ConfigMap; charts/flex-auth/README.md says so.
 * Real `helm template` (scripts/helm.sh), no cluster needed.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { PACKAGE_ROOT } from '../helpers/paths.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCommand } from '../helpers/process.js';
import { runCli } from '../helpers/flex-auth.js';

const CHART = path.join(PACKAGE_ROOT, 'charts', 'flex-auth');

describe('the chart refuses an inline registry that is plainly not one', function () {
  this.timeout(60_000);
  let helmBin: string;
  let dir: string;
  let helmEnv: Record<string, string>;

  before(async function () {
    this.timeout(3_700_000); // a cold Helm build from the module proxy takes minutes
    const built = await runCommand('bash', [path.join(PACKAGE_ROOT, 'scripts', 'helm.sh'), 'path'], { timeoutMs: 3_650_000 });
    if (built.code !== 0) throw new Error(`scripts/helm.sh failed: ${built.stderr}`);
    helmBin = built.stdout.trim();
    dir = await makeTempDir('flex-auth-chart-validation-');
    helmEnv = { HELM_CACHE_HOME: path.join(dir, 'helm-cache'), HELM_CONFIG_HOME: path.join(dir, 'helm-config'), HELM_DATA_HOME: path.join(dir, 'helm-data') };
  });

  after(async () => {
    await removeDir(dir);
  });

  /** `helm template` with `registry.inline` set to `inline` (through a values file, as users set it). */
  async function renderInline(inline: string) {
    const file = path.join(dir, 'values.json');
    await writeFile(file, JSON.stringify({ registry: { inline } }));
    return runCommand(helmBin, ['template', 'flex-auth', CHART, '--namespace', 'flex-auth', '-f', file], { env: helmEnv, timeoutMs: 60_000 });
  }

  const registry = (fields: Record<string, unknown>) => JSON.stringify({
    schema: 'flex-auth.registry/v1',
    actors: [{ name: 'agt-a', type: 'agent', principals: ['agt-a'], ttl: { default: '1h', max: '8h' }, allowed_subjects: ['agt-a'] }],
    ...fields,
  });

  for (const [what, inline, complaint] of [
    ['text that is not JSON', 'actors: []', /registry\.inline is not a JSON object/],
    ['a JSON array', '[]', /registry\.inline is not a JSON object/],
    ['a document without "schema"', JSON.stringify({ actors: [{ name: 'agt-a' }] }), /registry\.inline: "schema" is missing: it must be "flex-auth\.registry\/v1"/],
    ['another schema', registry({ schema: 'flex-auth.registry/v2' }), /registry\.inline: "schema" must be "flex-auth\.registry\/v1", got "flex-auth\.registry\/v2"/],
    ['a document without actors', registry({ actors: undefined }), /registry\.inline: "actors" must be a non-empty list/],
    ['an empty actors list', registry({ actors: [] }), /registry\.inline: "actors" must be a non-empty list/],
    ['actors that are not a list', registry({ actors: { 'agt-a': {} } }), /registry\.inline: "actors" must be a non-empty list/],
  ] as const) {
    it(`fails helm template on ${what}, saying what is wrong`, async () => {
      const result = await renderInline(inline);
      expect(result.code, result.stdout).not.to.equal(0);
      expect(result.stderr).to.match(complaint);
    });
  }

  it('renders a valid inline registry verbatim into the ConfigMap', async () => {
    const inline = registry({});
    const check = await runCli(['validate', '-'], { stdin: inline });
    expect(check.code, check.stdout).to.equal(0);
    const result = await renderInline(inline);
    expect(result.code, result.stderr).to.equal(0);
    const configMap = parseAllDocuments(result.stdout)
      .map((doc) => doc.toJS() as { kind?: string; data?: Record<string, string> } | null)
      .find((doc) => doc?.kind === 'ConfigMap');
    expect(configMap?.data).to.deep.equal({ 'registry.json': inline });
  });

  it('leaves the rest of validation to flex-auth: a well-shaped but invalid registry renders', async () => {
    const inline = registry({ actors: [{ name: 'agt-a', type: 'agent', principals: ['agt-a'], ttl: { default: '8h', max: '1h' } }] });
    const check = await runCli(['validate', '-'], { stdin: inline });
    expect(check.stdout).to.match(/ttl\.max: must be >= ttl\.default/);
    expect((await renderInline(inline)).code).to.equal(0);
  });
});
