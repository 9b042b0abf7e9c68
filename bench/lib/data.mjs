/**
 * The benchmark's inputs, generated once into bench/.cache (never committed): for each size, a
 * registry document (checked with `flex-auth validate`), and the request mix rendered for the
 * two APIs (flex-auth's /v1/check, which the floors share, and Cerbos's /api/check/resources).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GENERATOR_VERSION, generateRegistry } from './registry-gen.mjs';
import { MIX_VERSION, cerbosBody, generateMix, model, oracle, summarize } from './mix.mjs';

export const MIX_COUNT = 4200;

function writeAtomic(file, text) {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** Lines for bench/wrk/mix.lua: index, expected allow, expected reason, path, body. */
export function renderTsv(mix, kind, m) {
  return mix.map((item, i) => {
    const body = kind === 'cerbos' ? cerbosBody(m, item.req, `bq-${i}`) : item.req;
    const urlPath = kind === 'cerbos' ? '/api/check/resources' : '/v1/check';
    return `${i}\t${item.allow ? 1 : 0}\t${item.reason}\t${urlPath}\t${JSON.stringify(body)}`;
  }).join('\n') + '\n';
}

/**
 * @returns {{ size, registryFile, registryBytes, flexTsv, cerbosTsv, mix, summary, revision }}
 */
export function ensureData({ cacheDir, root, size, log = () => {} }) {
  mkdirSync(cacheDir, { recursive: true });
  const stem = path.join(cacheDir, `g${GENERATOR_VERSION}m${MIX_VERSION}-n${size}`);
  const files = { registry: `${stem}-registry.json`, flex: `${stem}-mix-flex.tsv`, cerbos: `${stem}-mix-cerbos.tsv`, meta: `${stem}-meta.json` };
  if (Object.values(files).every((f) => existsSync(f))) {
    const meta = JSON.parse(readFileSync(files.meta, 'utf8'));
    return { size, registryFile: files.registry, flexTsv: files.flex, cerbosTsv: files.cerbos, ...meta };
  }
  log(`generating the ${size}-actor registry and request mix`);
  const doc = generateRegistry(size, { seed: 1 });
  const m = model(doc);
  const mix = generateMix(doc, { count: MIX_COUNT, m });
  const text = JSON.stringify(doc);
  writeAtomic(files.registry, text);
  const validated = spawnSync(process.execPath, [path.join(root, 'dist/src/cli/index.js'), 'validate', files.registry], { encoding: 'utf8' });
  if (validated.status !== 0) throw new Error(`generated registry ${files.registry} is invalid:\n${validated.stdout}${validated.stderr}`);
  const revision = /revision: (\S+)/.exec(validated.stdout)?.[1] ?? null;
  writeAtomic(files.flex, renderTsv(mix, 'flex', m));
  writeAtomic(files.cerbos, renderTsv(mix, 'cerbos', m));
  const meta = {
    registryBytes: Buffer.byteLength(text),
    revision,
    actors: doc.actors.length,
    relationships: doc.relationships.length,
    groups: m.groups.length,
    humans: m.humans.length,
    maxExpandedSubjects: Math.max(...[...m.actors.values()].map((a) => a.subjects.size)),
    summary: summarize(mix),
  };
  writeAtomic(files.meta, JSON.stringify(meta, null, 2));
  return { size, registryFile: files.registry, flexTsv: files.flex, cerbosTsv: files.cerbos, ...meta };
}

/**
 * Two valid documents of `size` actors for the reload benchmark, A and B, and a mix whose every
 * answer is the same under both (B renames every actor the mix does not name).
 */
export function ensureReloadData({ cacheDir, root, size, log = () => {} }) {
  mkdirSync(cacheDir, { recursive: true });
  const stem = path.join(cacheDir, `g${GENERATOR_VERSION}m${MIX_VERSION}-reload-n${size}`);
  const files = { a: `${stem}-a.json`, b: `${stem}-b.json`, flex: `${stem}-mix-flex.tsv`, meta: `${stem}-meta.json` };
  if (Object.values(files).every((f) => existsSync(f))) {
    return { registryA: files.a, registryB: files.b, flexTsv: files.flex, ...JSON.parse(readFileSync(files.meta, 'utf8')) };
  }
  log(`generating the two ${size}-actor registries for the reload benchmark`);
  const docA = generateRegistry(size, { seed: 1 });
  const mA = model(docA);
  const mix = generateMix(docA, { count: MIX_COUNT, m: mA });
  const keep = new Set(mix.map((item) => item.req.resource.id).filter((id) => mA.actors.has(id)));
  const docB = generateRegistry(size, { seed: 1, variant: 1, keep });
  const mB = model(docB);
  mix.forEach((item, i) => {
    const b = oracle(mB, item.req);
    if (b.allow !== item.allow || b.reason !== item.reason) throw new Error(`reload mix item ${i} differs between A and B`);
  });
  const revisions = {};
  for (const [key, doc] of [['a', docA], ['b', docB]]) {
    writeAtomic(files[key], JSON.stringify(doc));
    const validated = spawnSync(process.execPath, [path.join(root, 'dist/src/cli/index.js'), 'validate', files[key]], { encoding: 'utf8' });
    if (validated.status !== 0) throw new Error(`generated registry ${files[key]} is invalid:\n${validated.stdout}${validated.stderr}`);
    revisions[key] = /revision: (\S+)/.exec(validated.stdout)?.[1] ?? null;
  }
  writeAtomic(files.flex, renderTsv(mix, 'flex', mA));
  const renamed = docB.actors.filter((a) => !mA.actors.has(a.name)).length;
  const meta = { size, revisions, renamedActors: renamed, keptActors: keep.size, summary: summarize(mix) };
  writeAtomic(files.meta, JSON.stringify(meta, null, 2));
  return { registryA: files.a, registryB: files.b, flexTsv: files.flex, ...meta };
}
