import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import fc from 'fast-check';
import { loadRegistry } from '../../../src/registry/load.js';
import {
  DEFAULT_PACK_LIMITS, PackError, packRegistry, REVISION_ANNOTATION, unpackRegistry, UnpackError,
} from '../../../src/sources/packed-registry.js';
import type { ConfigMapContent, ConfigMapManifest, PackLimits } from '../../../src/sources/packed-registry.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';

const target = { name: 'flex-auth-registry', namespace: 'flex-auth', key: 'registry.json' };

/** Many distinct actors: text that gzip cannot shrink to nothing. */
function bigDocument(actors: number, seed = 'a'): string {
  return text(registryDocument(Array.from({ length: actors }, (_, i) => actorEntry(`agt-${seed}${i}-${createHash('sha1').update(`${seed}${i}`).digest('hex').slice(0, 20)}`))));
}

function revisionOf(document: string): string {
  return loadRegistry(document).revision;
}

/**
 * The contract's v1 manifest, built here from the contract (section 6) rather than by the code
 * under test: name, namespace, labels, the revision annotation, and the document verbatim.
 */
function v1Manifest(document: string): ConfigMapManifest {
  return {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: {
      name: target.name, namespace: target.namespace,
      labels: { 'app.kubernetes.io/name': 'flex-auth', 'app.kubernetes.io/component': 'registry' },
      annotations: { 'flex-auth/registry-revision': revisionOf(document) },
    },
    data: { [target.key]: document },
  };
}

/**
 * What kubectl's client-side apply stores in annotations, for objects whose JSON has no
 * characters Go escapes differently: the last-applied key, the object as JSON, and the
 * object's own annotations.
 */
function kubectlAnnotationBytes(object: ConfigMapManifest): number {
  const own = Object.entries(object.metadata.annotations).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  return Buffer.byteLength('kubectl.kubernetes.io/last-applied-configuration') + Buffer.byteLength(JSON.stringify(object)) + own;
}

/** Reads parts from the objects of a manifest, as the API server would hold them. */
function cluster(objects: readonly ConfigMapManifest[]): (name: string) => Promise<ConfigMapContent | undefined> {
  const byName = new Map(objects.map((o) => [o.metadata.name, o]));
  return async (name) => byName.get(name);
}

async function unpack(objects: readonly ConfigMapManifest[]) {
  return unpackRegistry(objects[objects.length - 1]!, target, cluster(objects));
}

async function unpackError(main: ConfigMapContent, parts: readonly ConfigMapManifest[]): Promise<UnpackError> {
  try {
    await unpackRegistry(main, target, cluster(parts));
  } catch (error) {
    expect(error).to.be.instanceOf(UnpackError);
    return error as UnpackError;
  }
  throw new Error('unpacking succeeded');
}

const limits = (annotationBytes: number, maxParts = DEFAULT_PACK_LIMITS.maxParts): PackLimits => ({ annotationBytes, maxParts });

describe('packing a registry into ConfigMaps', () => {
  it('keeps a registry that fits as the v1 manifest, unchanged', () => {
    const document = bigDocument(3);
    const packed = packRegistry(document, revisionOf(document), target);
    expect(packed.form).to.equal('plain');
    expect(packed.objects).to.deep.equal([v1Manifest(document)]);
  });

  it('keeps the plain form at exactly the annotation limit and gzips one byte past it', () => {
    const document = bigDocument(40);
    const size = kubectlAnnotationBytes(v1Manifest(document));
    expect(packRegistry(document, revisionOf(document), target, limits(size)).form).to.equal('plain');
    const gzipped = packRegistry(document, revisionOf(document), target, limits(size - 1));
    expect(gzipped.form).to.equal('gzip');
    expect(Object.keys(gzipped.objects[0]!.binaryData!)).to.deep.equal(['registry.json.gz']);
  });

  it('counts the characters Go escapes when it writes the last-applied annotation', () => {
    const actors = Array.from({ length: 40 }, (_, i) => actorEntry(`agt-${i}`));
    const plain = text(registryDocument(actors, [], { metadata: { source: 'a' } }));
    const escaped = text(registryDocument(actors, [], { metadata: { source: '&' } }));
    // Same length in JavaScript; Go writes `&` as \u0026, 5 bytes more.
    const plainSize = kubectlAnnotationBytes(v1Manifest(plain));
    expect(packRegistry(escaped, revisionOf(escaped), target, limits(plainSize + 4)).form).to.equal('gzip');
    expect(packRegistry(escaped, revisionOf(escaped), target, limits(plainSize + 5)).form).to.equal('plain');
  });

  it('keeps one gzip object at exactly the limit and splits into parts one byte past it', () => {
    const document = bigDocument(300);
    const revision = revisionOf(document);
    const { data: _plain, ...rest } = v1Manifest(document);
    const annotations = { ...rest.metadata.annotations, 'flex-auth/registry-format': 'gzip' };
    const gzipObject: ConfigMapManifest = { ...rest, metadata: { ...rest.metadata, annotations }, binaryData: { 'registry.json.gz': gzipSync(document, { level: 9 }).toString('base64') } };
    const size = kubectlAnnotationBytes(gzipObject);
    const fits = packRegistry(document, revision, target, limits(size));
    expect(fits.form).to.equal('gzip');
    expect(fits.objects).to.deep.equal([gzipObject]);
    expect(packRegistry(document, revision, target, limits(size - 1)).form).to.equal('parts');
  });

  it('splits into parts that each fit, listed before the main ConfigMap, with fixed names', () => {
    const document = bigDocument(300);
    const packed = packRegistry(document, revisionOf(document), target, limits(3000));
    expect(packed.form).to.equal('parts');
    const names = packed.objects.map((o) => o.metadata.name);
    expect(names.at(-1)).to.equal('flex-auth-registry');
    expect(names.slice(0, -1)).to.deep.equal(names.slice(0, -1).map((_, i) => `flex-auth-registry-part-${i}`));
    for (const object of packed.objects) expect(kubectlAnnotationBytes(object)).to.be.at.most(3000);
  });

  it('refuses a registry that needs one part more than allowed, and packs it with that many', () => {
    const document = bigDocument(300);
    const revision = revisionOf(document);
    const needed = packRegistry(document, revision, target, limits(3000)).objects.length - 1;
    expect(packRegistry(document, revision, target, limits(3000, needed)).objects).to.have.length(needed + 1);
    expect(() => packRegistry(document, revision, target, limits(3000, needed - 1))).to.throw(PackError, new RegExp(`needs ${needed} parts`));
  });

  it('refuses parts for a name longer than a label value (63), and forms whose key would pass 253 characters', () => {
    const document = bigDocument(300);
    const revision = revisionOf(document);
    const named = (name: string) => packRegistry(document, revision, { ...target, name }, limits(3000));
    expect(named('r'.repeat(63)).form).to.equal('parts');
    expect(() => named('r'.repeat(64))).to.throw(PackError, /label value of at most 63 characters: r{64} has 64/);
    // Too long for plain, short enough gzipped: a long name is fine in the forms without parts.
    const gzipOnly = Buffer.byteLength(document) - 1;
    expect(packRegistry(document, revision, { ...target, name: 'r'.repeat(200) }, limits(gzipOnly)).form).to.equal('gzip');
    const keyed = (key: string, annotationBytes: number) => packRegistry(document, revision, { ...target, key }, limits(annotationBytes));
    expect(keyed('k'.repeat(245), 3000).form).to.equal('parts');
    expect(() => keyed('k'.repeat(246), 3000)).to.throw(PackError, /parts form, whose key k{246}\.gz\.part is longer than the 253/);
    expect(keyed('k'.repeat(250), gzipOnly).form).to.equal('gzip');
    expect(() => keyed('k'.repeat(251), gzipOnly)).to.throw(PackError, /gzip form, whose key k{251}\.gz is longer/);
  });

  it('selects for cleanup only the parts of this registry that the manifest leaves unused', () => {
    const document = bigDocument(300);
    const parts = packRegistry(document, revisionOf(document), target, limits(3000));
    const hex = revisionOf(document).slice('sha256:'.length, 'sha256:'.length + 63);
    expect(parts.pruneSelector).to.equal(`app.kubernetes.io/component=registry-part,flex-auth/registry=flex-auth-registry,flex-auth/registry-revision!=${hex}`);
    expect(packRegistry(document, revisionOf(document), target).pruneSelector)
      .to.equal('app.kubernetes.io/component=registry-part,flex-auth/registry=flex-auth-registry');
  });
});

describe('unpacking a registry from ConfigMaps', () => {
  it('gets back the same document from every form, with the announced revision', async () => {
    await fc.assert(fc.asyncProperty(
      fc.string({ unit: 'binary', maxLength: 3000 }), fc.integer({ min: 1500, max: 5000 }),
      async (document, annotationBytes) => {
        const packed = packRegistry(document, `sha256:${'a'.repeat(64)}`, target, limits(annotationBytes, 1000));
        const unpacked = await unpack(packed.objects);
        expect(unpacked.document.toString()).to.equal(document);
        expect(unpacked.form).to.equal(packed.form);
        if (packed.form !== 'plain') expect(unpacked.revision).to.equal(`sha256:${'a'.repeat(64)}`);
      },
    ), { numRuns: 60 });
  });

  it('reports a corrupt gzip object', async () => {
    const main: ConfigMapContent = { metadata: { annotations: { 'flex-auth/registry-format': 'gzip' } }, binaryData: { 'registry.json.gz': randomBytes(200).toString('base64') } };
    expect((await unpackError(main, [])).message).to.match(/that is not valid gzip/);
  });

  it('reports corrupt parts whose hashes match the index', async () => {
    const document = bigDocument(300);
    const packed = packRegistry(document, revisionOf(document), target, limits(3000));
    const parts = packed.objects.slice(0, -1).map((part) => ({ ...part, binaryData: { 'registry.json.gz.part': randomBytes(100).toString('base64') } }));
    const index = JSON.parse(packed.objects.at(-1)!.data!['registry.json.parts']!) as { parts: { sha256: string }[] };
    index.parts.forEach((entry, i) => {
      entry.sha256 = createHash('sha256').update(Buffer.from(parts[i]!.binaryData['registry.json.gz.part'], 'base64')).digest('hex');
    });
    const main = { ...packed.objects.at(-1)!, data: { 'registry.json.parts': JSON.stringify(index) } };
    const error = await unpackError(main, parts);
    expect(error.message).to.match(/that is not valid gzip/);
    expect(error.waiting).to.equal(false);
  });

  it('waits for a missing part', async () => {
    const document = bigDocument(300);
    const packed = packRegistry(document, revisionOf(document), target, limits(3000));
    const error = await unpackError(packed.objects.at(-1)!, packed.objects.filter((o) => o.metadata.name !== 'flex-auth-registry-part-1'));
    expect(error.message).to.equal(`waits for part flex-auth-registry-part-1 of ${revisionOf(document)}: it does not exist`);
    expect(error.waiting).to.equal(true);
  });

  it('never assembles parts of two revisions: it waits while a part holds another one', async () => {
    const before = bigDocument(300, 'a');
    const after = bigDocument(300, 'b');
    const old = packRegistry(before, revisionOf(before), target, limits(3000));
    const next = packRegistry(after, revisionOf(after), target, limits(3000));
    // Half applied: part 0 is new, the rest old; the new index is already there.
    const mixed = [next.objects[0]!, ...old.objects.slice(1, -1)];
    const error = await unpackError(next.objects.at(-1)!, mixed);
    expect(error.waiting).to.equal(true);
    expect(error.message).to.match(new RegExp(`^waits for part flex-auth-registry-part-\\d+ of ${revisionOf(after)}: it holds ${revisionOf(before)}$`));
  });

  it('refuses a part that carries the right revision but other bytes', async () => {
    const document = bigDocument(300);
    const packed = packRegistry(document, revisionOf(document), target, limits(3000));
    const tampered = packed.objects.slice(0, -1).map((part, i) => (i === 0 ? { ...part, binaryData: { 'registry.json.gz.part': 'AAAA' } } : part));
    const error = await unpackError(packed.objects.at(-1)!, tampered);
    expect(error.message).to.equal('has part flex-auth-registry-part-0 that does not match its sha256 in the index');
    expect(error.waiting).to.equal(false);
  });

  it('reads only the fixed part names: an index naming another object is refused', async () => {
    const index = { schema: 'flex-auth.registry-parts/v1', revision: `sha256:${'b'.repeat(64)}`, parts: [{ name: 'other-secret-thing', sha256: 'c'.repeat(64) }] };
    let read = false;
    try {
      await unpackRegistry({ metadata: { annotations: { 'flex-auth/registry-format': 'parts' } }, data: { 'registry.json.parts': JSON.stringify(index) } }, target, async () => { read = true; return undefined; });
      expect.fail('unpacking succeeded');
    } catch (error) {
      expect((error as Error).message).to.match(/whose entry 0 is not \{name: "flex-auth-registry-part-0"/);
    }
    expect(read).to.equal(false);
  });

  it('reads the form its annotation names, whatever other keys an earlier applier left behind', async () => {
    const before = bigDocument(3, 'a');
    const after = bigDocument(300, 'b');
    const packed = packRegistry(after, revisionOf(after), target, limits(3000));
    const main = packed.objects.at(-1)!;
    const leftovers = { ...main, data: { ...main.data, 'registry.json': before }, binaryData: { 'registry.json.gz': gzipSync(before).toString('base64') } };
    expect((await unpackRegistry(leftovers, target, cluster(packed.objects))).document.toString()).to.equal(after);
    const unknown = { ...main, metadata: { annotations: { 'flex-auth/registry-format': 'zstd' } } };
    expect((await unpackError(unknown, [])).message).to.equal('has an unknown flex-auth/registry-format "zstd"');
  });

  it('refuses an index of another revision than the one the ConfigMap announces', async () => {
    const document = bigDocument(300);
    const packed = packRegistry(document, revisionOf(document), target, limits(3000));
    const main = packed.objects.at(-1)!;
    const other = `sha256:${'e'.repeat(64)}`;
    const relabelled = { ...main, metadata: { ...main.metadata, annotations: { ...main.metadata.annotations, [REVISION_ANNOTATION]: other } } };
    expect((await unpackError(relabelled, packed.objects)).message).to.equal(`announces ${other} but its part index is of ${revisionOf(document)}`);
  });

  it('names the missing key when a ConfigMap has none of the forms', async () => {
    const error = await unpackError({ data: { 'other.json': '{}' }, metadata: { annotations: { [REVISION_ANNOTATION]: 'x' } } }, []);
    expect(error.message).to.equal('has no key registry.json');
  });
});
