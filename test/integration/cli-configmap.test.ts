import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parse, stringify } from 'yaml';
import { runCli } from '../helpers/flex-auth.js';
import { PRODUCTION_REGISTRY } from '../helpers/paths.js';
import { expectedRevision } from '../helpers/revision.js';
import { packRegistry } from '../../src/sources/packed-registry.js';
import type { PackForm } from '../../src/sources/packed-registry.js';

/**
 * `flex-auth configmap --unpack`: the live document back from what `kubectl get configmap -o
 * json|yaml` prints, in each form `flex-auth configmap` publishes, so that the sync runbook can
 * diff against it. The real kubectl and API server run it in test/k8s/packed-registry.test.ts.
 */
describe('cli configmap --unpack', function () {
  this.timeout(20_000);
  const text = readFileSync(PRODUCTION_REGISTRY, 'utf8');
  const revision = expectedRevision(JSON.parse(text));
  const target = { name: 'flex-auth-registry', namespace: 'flex-auth', key: 'registry.json' };
  /** Tight limits push the small example registry into each form, as size does a real one. */
  const limits: Record<PackForm, { annotationBytes: number; maxParts: number }> = {
    plain: { annotationBytes: 256 * 1024, maxParts: 64 },
    gzip: { annotationBytes: text.length, maxParts: 64 },
    parts: { annotationBytes: 1200, maxParts: 64 },
  };
  /** The namespace as kubectl lists it: the packed objects among others. */
  const listOf = (objects: readonly object[]) => ({
    apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' },
    items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: 'flex-auth' }, data: { 'ca.crt': 'not a certificate' } }, ...objects],
  });

  for (const form of ['plain', 'gzip', 'parts'] as const) {
    it(`prints the ${form} form's document byte for byte, from JSON and from YAML`, async () => {
      const packed = packRegistry(text, revision, target, limits[form]);
      expect(packed.form).to.equal(form);
      for (const input of [JSON.stringify(listOf(packed.objects)), stringify(listOf(packed.objects))]) {
        const result = await runCli(['configmap', '--unpack', '-'], { stdin: input });
        expect(result.code, result.stderr).to.equal(0);
        expect(result.stdout).to.equal(text);
      }
    });
  }

  it('reads a single ConfigMap, as `kubectl get configmap NAME -o json` prints it, with another name and key', async () => {
    const packed = packRegistry(text, revision, { name: 'registry-b', namespace: 'x', key: 'r.json' }, limits.gzip);
    const result = await runCli(['configmap', '--unpack', '-', '--name', 'registry-b', '--key', 'r.json'], { stdin: JSON.stringify(packed.objects[0]) });
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.equal(text);
  });

  it('exits 1 and says which part is missing when the input lacks one', async () => {
    const packed = packRegistry(text, revision, target, limits.parts);
    const withoutPart = packed.objects.filter((o) => o.metadata.name !== 'flex-auth-registry-part-1');
    const result = await runCli(['configmap', '--unpack', '-'], { stdin: JSON.stringify(listOf(withoutPart)) });
    expect(result.code).to.equal(1);
    expect(result.stdout).to.equal('');
    expect(result.stderr).to.include('waits for part flex-auth-registry-part-1').and.include('kubectl -n NS get configmap -o json');
  });

  it('exits 1 when the registry ConfigMap is not among those given, whatever else the list holds', async () => {
    for (const list of [listOf([]), { kind: 'List', items: [null, 1, { metadata: null }] }]) {
      const result = await runCli(['configmap', '--unpack', '-'], { stdin: JSON.stringify(list) });
      expect(result.code).to.equal(1);
      expect(result.stderr).to.include('no ConfigMap flex-auth-registry');
    }
  });

  for (const [what, input] of [['not JSON or YAML', '{"kind": ['], ['not ConfigMaps', '{"kind": "Secret", "data": {}}'], ['empty', '']] as const) {
    it(`exits 2 on input that is ${what}`, async () => {
      const result = await runCli(['configmap', '--unpack', '-'], { stdin: input });
      expect(result.code).to.equal(2);
      expect(result.stdout).to.equal('');
      expect(result.stderr).to.match(/neither/);
    });
  }

  it('escapes in the plain manifest the characters kubectl would read as line breaks or refuse, and only then', async () => {
    const document = JSON.parse(text);
    document.metadata.source = 'ops-warden\u0085inventory \u2028 \u2029 \u007f \u0080 \u009f \ufeff';
    const unusual = JSON.stringify(document, null, 2);
    const result = await runCli(['configmap', '-'], { stdin: unusual });
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).not.to.match(/[\u007f-\u009f\u2028\u2029\ufeff]/);
    expect(result.stdout).to.include('ops-warden\\u0085inventory \\u2028 \\u2029 \\u007f \\u0080 \\u009f \\ufeff');
    expect((parse(result.stdout) as { data: Record<string, string> }).data['registry.json']).to.equal(unusual);
    // Any other document keeps the v1 manifest: the document as a literal block.
    const usual = await runCli(['configmap', PRODUCTION_REGISTRY]);
    expect(usual.stdout).to.include('  registry.json: |\n');
  });

  it('exits 2 when --unpack is given with --prune-selector', async () => {
    const result = await runCli(['configmap', '--unpack', '-', '--prune-selector'], { stdin: '{}' });
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include('do not go together');
  });
});

/** `flex-auth configmap` prints only manifests the API server accepts, and reads back only names it could hold. */
describe('cli configmap names', function () {
  this.timeout(20_000);

  for (const [flag, value, rule] of [
    ['--name', 'Bad_Name', 'a ConfigMap name such as flex-auth-registry'],
    ['--name', '', 'a ConfigMap name such as flex-auth-registry'],
    ['--namespace', 'NS!', 'a Kubernetes namespace name such as flex-auth'],
    ['--namespace', 'flex.auth', 'a Kubernetes namespace name such as flex-auth'],
    ['--key', 'bad key', 'a ConfigMap key such as registry.json'],
  ] as const) {
    it(`refuses ${flag} '${value}' as a usage error (exit 2), printing no manifest`, async () => {
      const result = await runCli(['configmap', PRODUCTION_REGISTRY, flag, value]);
      expect(result.code).to.equal(2);
      expect(result.stdout).to.equal('');
      expect(result.stderr.split('\n')[0]).to.equal(`flex-auth configmap: ${flag} must be ${rule} (got ${value})`);
    });
  }

  for (const [flag, value] of [['--name', 'Bad_Name'], ['--key', 'bad key']] as const) {
    it(`--unpack refuses ${flag} '${value}' too`, async () => {
      const result = await runCli(['configmap', '--unpack', '-', flag, value], { stdin: '{"kind": "List", "items": []}' });
      expect(result.code).to.equal(2);
      expect(result.stderr).to.include(`${flag} must be`);
    });
  }

  it('refuses what serve refuses, and accepts what it accepts', async () => {
    for (const [namespace, name, key, valid] of [
      ['NS!', 'flex-auth-registry', 'registry.json', false],
      ['flex-auth', 'Bad_Name', 'registry.json', false],
      ['flex-auth', 'flex-auth-registry', 'bad key', false],
      ['flex-auth', 'flex-auth-registry', 'a'.repeat(254), false],
      ['a'.repeat(64), 'flex-auth-registry', 'registry.json', false],
      ['x', 'registry.v2', '_Reg-1.json', true],
    ] as const) {
      const shown = `${namespace}/${name} key ${key.slice(0, 20)}`;
      const published = await runCli(['configmap', PRODUCTION_REGISTRY, '--namespace', namespace, '--name', name, '--key', key]);
      expect(published.code, shown).to.equal(valid ? 0 : 2);
      if (valid) continue;
      // serve checks its flags before it looks for cluster credentials.
      const served = await runCli(['serve', '--registry-configmap', `${namespace}/${name}`, '--registry-key', key]);
      expect(served.code, shown).to.equal(2);
      expect(served.stderr, shown).to.match(/must be/);
    }
  });
});
