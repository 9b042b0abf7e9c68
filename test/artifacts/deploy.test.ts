/**
 * The deployment artifacts that need neither Helm nor a cluster: the copies that Helm and
 * kustomize need inside their own directories are byte-identical to their sources, the chart's
 * values schema rejects unknown keys everywhere and describes exactly values.yaml, the chart's
 * README documents every value, and the image build ships what `flex-auth serve` needs.
 * Rendering, linting and the API server's verdict are in test/k8s/deploy.test.ts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { PACKAGE_ROOT as ROOT } from '../helpers/paths.js';

const read = (...parts: string[]) => readFileSync(path.join(ROOT, ...parts));
const readText = (...parts: string[]) => read(...parts).toString('utf8');

type Schema = Record<string, any>;

/**
 * Value paths (`a.b.c`) of the leaves of a values document, following the schema: a key the
 * schema describes with `properties` is descended into; anything else (a scalar, a list, a map
 * of labels, a key the schema does not know) is a leaf.
 */
function leafPaths(value: unknown, schema: Schema | undefined, prefix = ''): string[] {
  if (schema?.properties && value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) =>
      leafPaths(child, (schema.properties as Record<string, Schema>)[key] ?? {}, prefix ? `${prefix}.${key}` : key));
  }
  return [prefix];
}

/** Every node of a JSON schema, with its path in the values (`a.b`, `a.b[]` for items). */
function schemaNodes(node: Schema, at = ''): { at: string; node: Schema }[] {
  const out = [{ at, node }];
  for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, Schema>)) out.push(...schemaNodes(child, at ? `${at}.${key}` : key));
  if (node.items) out.push(...schemaNodes(node.items as Schema, `${at}[]`));
  for (const alternative of (node.oneOf ?? []) as Schema[]) out.push(...schemaNodes(alternative, at));
  return out;
}

describe('deployment artifacts (no Helm needed)', () => {
  describe('copies kept byte-identical to their sources', () => {
    const copies: [copy: string[], source: string[]][] = [
      [['charts', 'flex-auth', 'files', 'production_registry_snapshot.json'], ['examples', 'ops-warden', 'production_registry_snapshot.json']],
      [['deploy', 'base', 'production_registry_snapshot.json'], ['examples', 'ops-warden', 'production_registry_snapshot.json']],
      [['charts', 'flex-auth', 'files', 'flex-auth-rules.yaml'], ['deploy', 'prometheus', 'flex-auth-rules.yaml']],
    ];
    for (const [copy, source] of copies) {
      it(`${copy.join('/')} is ${source.join('/')}`, () => {
        const ok = read(...copy).equals(read(...source));
        expect(ok, `${copy.join('/')} differs from ${source.join('/')}; copy it again: cp ${source.join('/')} ${copy.join('/')}`).to.equal(true);
      });
    }
  });

  describe('charts/flex-auth/values.schema.json', () => {
    const schema = JSON.parse(readText('charts', 'flex-auth', 'values.schema.json')) as Schema;
    const values = parseYaml(readText('charts', 'flex-auth', 'values.yaml')) as Record<string, unknown>;
    // Kubernetes structures handed through as they are, and Helm's `global`.
    const PASS_THROUGH = new Set(['global', 'affinity.nodeAffinity', 'affinity.podAffinity', 'affinity.podAntiAffinity']);

    it('rejects unknown keys at every level', () => {
      for (const { at, node } of schemaNodes(schema)) {
        if (node.type !== 'object') continue;
        if (PASS_THROUGH.has(at)) continue;
        if (node.properties) {
          expect(node.additionalProperties, `${at || '(root)'} must have additionalProperties: false`).to.equal(false);
        } else {
          // A map of strings (labels, annotations, selectors): any key, but only string values.
          expect(node.additionalProperties, `${at} is an open object`).to.deep.equal({ type: 'string' });
        }
      }
    });

    it('describes every key of values.yaml, and values.yaml sets every key it describes', () => {
      const described = new Set(schemaNodes(schema).map((n) => n.at));
      for (const leaf of leafPaths(values, schema)) expect(described.has(leaf), `values.yaml key ${leaf} is not in the schema`).to.equal(true);
      const valuePrefixes = new Set(leafPaths(values, schema).flatMap((leaf) => leaf.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'))));
      for (const key of Object.keys(schema.properties as object)) {
        if (key === 'global') continue;
        expect(valuePrefixes.has(key), `schema key ${key} has no default in values.yaml`).to.equal(true);
      }
    });

    it('is documented key by key in the chart README', () => {
      const readme = readText('charts', 'flex-auth', 'README.md');
      const documented = (key: string) => readme.includes(`\`${key}\``);
      for (const leaf of leafPaths(values, schema)) {
        // A leaf, or the structure it is part of (`livenessProbe`, `resources.requests`, a selector).
        const parts = leaf.split('.');
        const prefixes = parts.map((_, i) => parts.slice(0, parts.length - i).join('.'));
        expect(prefixes.some(documented), `charts/flex-auth/README.md does not document \`${leaf}\``).to.equal(true);
      }
    });
  });

  describe('the image build', () => {
    const dockerfile = readText('Dockerfile');
    const ignore = readText('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

    it('runs `node --max-semi-space-size=16 --min-semi-space-size=16 dist/src/cli/index.js serve` as uid 10001, the chart\'s runAsUser', () => {
      expect(dockerfile).to.match(/^ENTRYPOINT \["node", "--max-semi-space-size=16", "--min-semi-space-size=16", "dist\/src\/cli\/index\.js"\]$/m);
      expect(dockerfile).to.match(/^CMD \["serve"\]$/m);
      expect(dockerfile).to.match(/^USER 10001:10001$/m);
      expect(dockerfile).to.match(/^EXPOSE 8080$/m);
      const deployment = readText('charts', 'flex-auth', 'templates', 'deployment.yaml');
      expect(deployment).to.match(/runAsUser: 10001/);
    });

    it('gives `npm start` and the benchmark the image\'s Node flags', async () => {
      const start = (JSON.parse(readText('package.json')) as { scripts: Record<string, string> }).scripts.start;
      expect(start).to.equal('node --max-semi-space-size=16 --min-semi-space-size=16 dist/src/cli/index.js serve');
      const { deployedNodeFlags } = await import(path.join(ROOT, 'bench', 'lib', 'proc.mjs')) as { deployedNodeFlags: (root: string) => string[] };
      expect(deployedNodeFlags(ROOT)).to.deep.equal(['--max-semi-space-size=16', '--min-semi-space-size=16']);
    });

    it('gives the benchmark the memory limit the chart and the plain manifests set', async () => {
      const { deployedMemoryLimit } = await import(path.join(ROOT, 'bench', 'lib', 'proc.mjs')) as { deployedMemoryLimit: (root: string) => number };
      const manifest = parseYaml(readText('deploy', 'base', 'deployment.yaml')) as { spec: { template: { spec: { containers: { resources: { limits: { memory: string } } }[] } } } };
      expect(manifest.spec.template.spec.containers[0]!.resources.limits.memory).to.equal('768Mi');
      expect(deployedMemoryLimit(ROOT)).to.equal(768 * 1024 * 1024);
      // Another checkout's chart is read the same way; a limit that is no quantity stops the run.
      const other = mkdtempSync(path.join(tmpdir(), 'flex-auth-chart-'));
      try {
        mkdirSync(path.join(other, 'charts', 'flex-auth'), { recursive: true });
        const values = path.join(other, 'charts', 'flex-auth', 'values.yaml');
        writeFileSync(values, 'resources:\n  limits:\n    memory: 1Gi\n');
        expect(deployedMemoryLimit(other)).to.equal(2 ** 30);
        writeFileSync(values, 'resources:\n  limits:\n    memory: 500M\n');
        expect(deployedMemoryLimit(other)).to.equal(500e6);
        writeFileSync(values, 'resources:\n  limits:\n    memory: lots\n');
        expect(() => deployedMemoryLimit(other)).to.throw(/resources\.limits\.memory is not a memory quantity \(lots\)/);
        writeFileSync(values, 'resources: {}\n');
        expect(() => deployedMemoryLimit(other)).to.throw(/not a memory quantity \(none\)/);
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    });

    it('builds with npm ci and ships production dependencies, dist/src, package.json and examples', () => {
      expect(dockerfile).to.match(/RUN npm ci .*--ignore-scripts/);
      expect(dockerfile).to.match(/RUN npm run build/);
      expect(dockerfile).to.match(/RUN npm ci --omit=dev .*--ignore-scripts/);
      const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
      for (const copied of [/COPY .*package\.json \.\//, /COPY --from=deps .*\/app\/node_modules \.\/node_modules/, /COPY --from=build .*\/app\/dist\/src \.\/dist\/src/, /COPY .*examples \.\/examples/]) {
        expect(runtime).to.match(copied);
      }
      // The embedded default registry is read from examples/ at run time.
      expect(readText('src', 'paths.ts')).to.include("'examples/ops-warden/production_registry_snapshot.json'");
    });

    it('.dockerignore sends only what the build reads', () => {
      expect(ignore[0]).to.equal('**');
      expect(ignore.slice(1).sort()).to.deep.equal(['!examples/**', '!package-lock.json', '!package.json', '!src/**', '!tsconfig.json']);
    });
  });
});
