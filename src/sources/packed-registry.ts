import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzipSync } from 'node:zlib';

/**
 * The ConfigMap forms of a registry document (docs/registry.md, "ConfigMap format"):
 *
 * - plain: `data[<key>]` holds the document, the v1 form, kept whenever it fits;
 * - gzip: `binaryData[<key>.gz]` holds it gzipped;
 * - parts: the gzip stream cut into byte ranges, one per ConfigMap `<name>-part-<i>`
 *   (`binaryData[<key>.gz.part]`), and the main ConfigMap holds only an index
 *   (`data[<key>.parts]`): the revision and each part's name and sha256.
 *
 * A form fits when client-side `kubectl apply` can store the whole object in its
 * `last-applied-configuration` annotation (the tighter of the API server's limits).
 */

const gunzip = promisify(gunzipCallback);

/** Annotation carrying the document's revision, so `kubectl get -o yaml` shows what is published. */
export const REVISION_ANNOTATION = 'flex-auth/registry-revision';
/**
 * Annotation naming a packed form (`gzip` or `parts`); absent on the v1 form. The reader goes
 * by it, not by which keys exist, so a key left behind by another applier (server-side apply
 * keeps fields other managers own) is never read instead of the current one.
 */
export const FORMAT_ANNOTATION = 'flex-auth/registry-format';
/** Label on every part: which registry it belongs to, so cleanup selects nothing else. */
export const REGISTRY_LABEL = 'flex-auth/registry';
/** Label on every part: its revision's hex digits (a label value holds at most 63 characters). */
export const PART_REVISION_LABEL = 'flex-auth/registry-revision';
export const PARTS_SCHEMA = 'flex-auth.registry-parts/v1';

/** The API server's limit on all annotations of an object together (kubectl's last-applied copy lives there). */
export const ANNOTATIONS_LIMIT_BYTES = 262_144;
/** Room left under that limit for what the estimate cannot see (e.g. a newer kubectl's own annotation). */
export const HEADROOM_BYTES = 4096;
/** Most parts a registry may have: the chart's Role names each one (`resourceNames`). */
export const MAX_PARTS = 64;
/** Largest document accepted from a ConfigMap: bounds what a corrupt or hostile gzip may inflate to. */
export const MAX_DOCUMENT_BYTES = 512 * 1024 * 1024;

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export interface PackLimits {
  /** Largest annotation total (last-applied copy included) a manifest object may have. */
  readonly annotationBytes: number;
  readonly maxParts: number;
}

export const DEFAULT_PACK_LIMITS: PackLimits = { annotationBytes: ANNOTATIONS_LIMIT_BYTES - HEADROOM_BYTES, maxParts: MAX_PARTS };

export interface RegistryTarget {
  readonly name: string;
  readonly namespace: string;
  readonly key: string;
}

export interface ConfigMapManifest {
  readonly apiVersion: 'v1';
  readonly kind: 'ConfigMap';
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
  };
  readonly data?: Readonly<Record<string, string>>;
  readonly binaryData?: Readonly<Record<string, string>>;
}

export type PackForm = 'plain' | 'gzip' | 'parts';

export interface Packed {
  readonly form: PackForm;
  /** In apply order: parts first, the main ConfigMap last, so it never names a part not yet written. */
  readonly objects: readonly ConfigMapManifest[];
  /** Selects the parts this manifest leaves unused (`kubectl delete configmap -l ...`). */
  readonly pruneSelector: string;
}

/** The registry cannot be packed within the limits: no manifest is printed. */
export class PackError extends Error {}

export interface PartIndex {
  readonly schema: typeof PARTS_SCHEMA;
  readonly revision: string;
  readonly parts: readonly { readonly name: string; readonly sha256: string }[];
}

export function partName(name: string, index: number): string {
  return `${name}-part-${index}`;
}

export const gzipKey = (key: string): string => `${key}.gz`;
export const partKey = (key: string): string => `${key}.gz.part`;
export const indexKey = (key: string): string => `${key}.parts`;

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Bytes of the JSON that Go's encoding/json writes for `value`, as kubectl does for the
 * last-applied annotation: like JSON.stringify, except that it escapes `<`, `>`, `&` and
 * U+2028/U+2029 as `\u00XX` and, in older versions, backspace and form feed too.
 */
export function goJsonBytes(value: unknown): number {
  const json = JSON.stringify(value);
  const html = json.match(/[<>&]/g)?.length ?? 0;
  const separators = json.match(/[\u2028\u2029]/g)?.length ?? 0;
  const shortEscapes = json.match(/\\[bf]/g)?.length ?? 0;
  return Buffer.byteLength(json) + 5 * html + 3 * separators + 4 * shortEscapes;
}

/** The annotation bytes `kubectl apply` (client-side) gives this object: its own ones plus the last-applied copy. */
export function clientSideAnnotationBytes(object: ConfigMapManifest): number {
  let total = Buffer.byteLength(LAST_APPLIED) + goJsonBytes(object);
  for (const [key, value] of Object.entries(object.metadata.annotations)) total += Buffer.byteLength(key) + Buffer.byteLength(value);
  return total;
}

const registryLabels = { 'app.kubernetes.io/name': 'flex-auth', 'app.kubernetes.io/component': 'registry' };

function mainObject(
  target: RegistryTarget, revision: string, content: Pick<ConfigMapManifest, 'data' | 'binaryData'>, form?: Exclude<PackForm, 'plain'>,
): ConfigMapManifest {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: target.name,
      namespace: target.namespace,
      labels: registryLabels,
      annotations: form === undefined ? { [REVISION_ANNOTATION]: revision } : { [REVISION_ANNOTATION]: revision, [FORMAT_ANNOTATION]: form },
    },
    ...content,
  };
}

function partObject(target: RegistryTarget, revision: string, index: number, base64: string): ConfigMapManifest {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: partName(target.name, index),
      namespace: target.namespace,
      labels: {
        'app.kubernetes.io/name': 'flex-auth',
        'app.kubernetes.io/component': 'registry-part',
        [REGISTRY_LABEL]: target.name,
        [PART_REVISION_LABEL]: revision.replace(/^sha256:/, '').slice(0, 63),
      },
      annotations: { [REVISION_ANNOTATION]: revision },
    },
    binaryData: { [partKey(target.key)]: base64 },
  };
}

function pruneSelector(target: RegistryTarget, keep?: string): string {
  const parts = `app.kubernetes.io/component=registry-part,${REGISTRY_LABEL}=${target.name}`;
  return keep === undefined ? parts : `${parts},${PART_REVISION_LABEL}!=${keep}`;
}

const LABEL_VALUE_MAX = 63;
const KEY_MAX = 253;

/** A form whose data key (the registry key and its suffix) would be longer than a ConfigMap key may be. */
function refuseUnwritable(key: string, form: PackForm): void {
  if (key.length > KEY_MAX) throw new PackError(`the registry needs the ${form} form, whose key ${key} is longer than the ${KEY_MAX} characters a ConfigMap key may have: use a shorter --key`);
}

/**
 * The smallest form of a valid document (`revision` is its revision) that fits the limits:
 * plain, else gzip, else parts. Throws PackError when even `maxParts` parts cannot hold it.
 */
export function packRegistry(text: string, revision: string, target: RegistryTarget, limits: PackLimits = DEFAULT_PACK_LIMITS): Packed {
  const fits = (object: ConfigMapManifest) => clientSideAnnotationBytes(object) <= limits.annotationBytes;
  // The escaped copy is at least as long as the text: skip building one that cannot fit.
  if (Buffer.byteLength(text) < limits.annotationBytes) {
    const plain = mainObject(target, revision, { data: { [target.key]: text } });
    if (fits(plain)) return { form: 'plain', objects: [plain], pruneSelector: pruneSelector(target) };
  }
  const compressed = gzipSync(text, { level: 9 });
  refuseUnwritable(gzipKey(target.key), 'gzip');
  const single = mainObject(target, revision, { binaryData: { [gzipKey(target.key)]: compressed.toString('base64') } }, 'gzip');
  if (fits(single)) return { form: 'gzip', objects: [single], pruneSelector: pruneSelector(target) };

  refuseUnwritable(partKey(target.key), 'parts');
  // Parts are found by a label whose value is the name: a label value has at most 63 characters.
  if (target.name.length > LABEL_VALUE_MAX) {
    throw new PackError(`the registry needs parts, which carry the ConfigMap name as a label value of at most ${LABEL_VALUE_MAX} characters: ${target.name} has ${target.name.length}`);
  }
  // Base64 needs no JSON escaping, so a part's annotation bytes are its overhead plus the base64 length.
  const overhead = Math.max(
    clientSideAnnotationBytes(partObject(target, revision, limits.maxParts - 1, '')),
    clientSideAnnotationBytes(partObject(target, revision, 0, '')),
  );
  const chunkBytes = Math.floor((limits.annotationBytes - overhead) / 4) * 3;
  const count = chunkBytes > 0 ? Math.ceil(compressed.length / chunkBytes) : Infinity;
  if (count > limits.maxParts) {
    throw new PackError(
      `the registry needs ${Number.isFinite(count) ? count : 'more'} parts of at most ${chunkBytes} gzip bytes each ` +
      `(${compressed.length} bytes gzipped), more than the ${limits.maxParts} the Role allows`,
    );
  }
  const parts: ConfigMapManifest[] = [];
  const index: PartIndex = { schema: PARTS_SCHEMA, revision, parts: [] };
  for (let i = 0; i < count; i += 1) {
    const chunk = compressed.subarray(i * chunkBytes, (i + 1) * chunkBytes);
    parts.push(partObject(target, revision, i, chunk.toString('base64')));
    (index.parts as { name: string; sha256: string }[]).push({ name: partName(target.name, i), sha256: sha256(chunk) });
  }
  const main = mainObject(target, revision, { data: { [indexKey(target.key)]: JSON.stringify(index) } }, 'parts');
  if (!fits(main)) throw new PackError(`the index of ${count} parts does not fit in one ConfigMap`);
  const keep = parts[0]!.metadata.labels[PART_REVISION_LABEL]!;
  return { form: 'parts', objects: [...parts, main], pruneSelector: pruneSelector(target, keep) };
}

// ---- Reading a published registry back ----

/** The fields of a ConfigMap that unpacking reads (a client-node V1ConfigMap has them). */
export interface ConfigMapContent {
  readonly metadata?: { readonly annotations?: Readonly<Record<string, string>> | undefined } | undefined;
  readonly data?: Readonly<Record<string, string>> | undefined;
  readonly binaryData?: Readonly<Record<string, string>> | undefined;
}

export interface Unpacked {
  /** The document: text as the v1 form holds it, else the inflated UTF-8 bytes (decoded off the event loop by the store). */
  readonly document: string | Buffer;
  readonly form: PackForm;
  /** The revision the publisher announced; the store refuses a document that has another one. */
  readonly revision?: string;
}

/**
 * Why a published registry cannot be read now, phrased to follow "ConfigMap NS/NAME". `waiting` means the parts are not (yet) those
 * the index names, which an apply in progress explains; otherwise the objects are broken.
 */
export class UnpackError extends Error {
  readonly waiting: boolean;

  constructor(message: string, waiting = false) {
    super(message);
    this.waiting = waiting;
  }
}

async function inflate(compressed: Buffer, what: string): Promise<Buffer> {
  try {
    // Asynchronous: zlib works on the thread pool, so checks go on while it inflates.
    return await gunzip(compressed, { maxOutputLength: MAX_DOCUMENT_BYTES });
  } catch (error) {
    throw new UnpackError(`has ${what} that is not valid gzip (${(error as Error).message})`);
  }
}

function parseIndex(text: string, mainName: string): PartIndex {
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch {
    throw new UnpackError('has a part index that is not JSON');
  }
  const { schema, revision, parts } = (index ?? {}) as Partial<Record<keyof PartIndex, unknown>>;
  if (schema !== PARTS_SCHEMA) throw new UnpackError(`has a part index that is not ${PARTS_SCHEMA}`);
  if (typeof revision !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(revision)) throw new UnpackError('has a part index without a valid revision');
  if (!Array.isArray(parts) || parts.length === 0 || parts.length > MAX_PARTS) {
    throw new UnpackError(`has a part index that does not list 1 to ${MAX_PARTS} parts`);
  }
  parts.forEach((part: { name?: unknown; sha256?: unknown }, i) => {
    // Fixed names only: the Role grants exactly these, and nothing else is ever read.
    if (part?.name !== partName(mainName, i) || typeof part.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(part.sha256)) {
      throw new UnpackError(`has a part index whose entry ${i} is not {name: "${partName(mainName, i)}", sha256: <64 hex digits>}`);
    }
  });
  return index as PartIndex;
}

/**
 * The registry document a main ConfigMap publishes, in whichever form. `readPart` fetches a
 * part by name (undefined when it does not exist). Every part must carry the index's
 * revision and match its sha256: a replica never assembles parts of two revisions.
 */
export async function unpackRegistry(
  main: ConfigMapContent, target: Omit<RegistryTarget, 'namespace'>,
  readPart: (name: string) => Promise<ConfigMapContent | undefined>,
): Promise<Unpacked> {
  const annotations = main.metadata?.annotations ?? {};
  const form = annotations[FORMAT_ANNOTATION];
  if (form === undefined) {
    const plain = main.data?.[target.key];
    if (plain === undefined) throw new UnpackError(`has no key ${target.key}`);
    return { document: plain, form: 'plain' };
  }
  const announced = annotations[REVISION_ANNOTATION];
  const revision = announced === undefined ? {} : { revision: announced };
  if (form === 'gzip') {
    const gzipped = main.binaryData?.[gzipKey(target.key)];
    if (gzipped === undefined) throw new UnpackError(`has no key ${gzipKey(target.key)}`);
    return { document: await inflate(Buffer.from(gzipped, 'base64'), `key ${gzipKey(target.key)}`), form: 'gzip', ...revision };
  }
  if (form !== 'parts') throw new UnpackError(`has an unknown ${FORMAT_ANNOTATION} ${JSON.stringify(form)}`);
  const indexText = main.data?.[indexKey(target.key)];
  if (indexText === undefined) throw new UnpackError(`has no key ${indexKey(target.key)}`);
  const index = parseIndex(indexText, target.name);
  if (announced !== undefined && announced !== index.revision) {
    throw new UnpackError(`announces ${announced} but its part index is of ${index.revision}`);
  }
  const chunks = await Promise.all(index.parts.map(async ({ name, sha256: expected }) => {
    const part = await readPart(name);
    if (part === undefined) throw new UnpackError(`waits for part ${name} of ${index.revision}: it does not exist`, true);
    const held = part.metadata?.annotations?.[REVISION_ANNOTATION];
    if (held !== index.revision) {
      throw new UnpackError(`waits for part ${name} of ${index.revision}: it holds ${held ?? 'no revision'}`, true);
    }
    const data = part.binaryData?.[partKey(target.key)];
    if (data === undefined) throw new UnpackError(`has part ${name} without key ${partKey(target.key)}`);
    const chunk = Buffer.from(data, 'base64');
    if (sha256(chunk) !== expected) throw new UnpackError(`has part ${name} that does not match its sha256 in the index`);
    return chunk;
  }));
  return { document: await inflate(Buffer.concat(chunks), `${chunks.length} parts`), form: 'parts', revision: index.revision };
}
