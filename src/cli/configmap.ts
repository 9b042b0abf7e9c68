import { parseArgs } from 'node:util';
import { Document, parse, Scalar, stringify } from 'yaml';
import { formatDetail, RegistryValidationError } from '../core/errors.js';
import { loadRegistry } from '../registry/load.js';
import { MAX_PARTS, PackError, packRegistry, UnpackError, unpackRegistry } from '../sources/packed-registry.js';
import type { ConfigMapContent, ConfigMapManifest } from '../sources/packed-registry.js';
import { EXIT, InputError, readInput, UsageError } from './io.js';
import { isConfigMapKey, isConfigMapName, isNamespaceName } from './kube-names.js';

export const CONFIGMAP_USAGE = `flex-auth configmap PATH [--name flex-auth-registry] [--namespace flex-auth] [--key registry.json] [--prune-selector]
flex-auth configmap --unpack CONFIGMAPS.json|- [--name flex-auth-registry] [--key registry.json]

  Prints ConfigMap manifests holding the registry, for
  \`flex-auth configmap PATH | kubectl apply -f -\` (client-side or --server-side).
  A registry that fits is the document verbatim in data.KEY; a larger one is gzipped
  into binaryData.KEY.gz and, past the API server's limits, split into at most
  ${MAX_PARTS} parts NAME-part-0.. listed before NAME (docs/registry.md).
  --prune-selector prints instead the label selector of the parts this manifest
  leaves unused, for \`kubectl delete configmap -l\` after the apply.
  Refuses an invalid registry, or one too large to pack (exit 1).

  --unpack reads it back: given \`kubectl -n NS get configmap -o json\` (or -o yaml),
  it prints the registry document NAME publishes, in whichever form, byte for byte:
  for \`flex-auth diff\` against the live registry. Exit 1 when NAME is not there or
  cannot be read (a part missing or of another revision), 2 when the input is not
  ConfigMaps.`;

export async function configmap(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      name: { type: 'string', default: 'flex-auth-registry' },
      namespace: { type: 'string', default: 'flex-auth' },
      key: { type: 'string', default: 'registry.json' },
      'prune-selector': { type: 'boolean', default: false },
      unpack: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError(values.unpack ? 'give exactly one file of ConfigMaps, or -' : 'give exactly one registry file');
  const path = positionals[0]!;
  // The same names serve --registry-configmap and --registry-key accept: nothing the API server would refuse.
  if (!isConfigMapName(values.name)) throw new UsageError(`--name must be a ConfigMap name such as flex-auth-registry (got ${values.name})`);
  if (!isNamespaceName(values.namespace)) throw new UsageError(`--namespace must be a Kubernetes namespace name such as flex-auth (got ${values.namespace})`);
  if (!isConfigMapKey(values.key)) throw new UsageError(`--key must be a ConfigMap key such as registry.json (got ${values.key})`);
  if (values.unpack) {
    if (values['prune-selector']) throw new UsageError('--unpack and --prune-selector do not go together');
    return unpack(path, { name: values.name, key: values.key });
  }
  const text = await readInput(path);
  let revision: string;
  try {
    revision = loadRegistry(text).revision;
  } catch (error) {
    if (!(error instanceof RegistryValidationError)) throw error;
    process.stderr.write(`${path}: refusing an invalid registry (${error.message})\n${error.details.map((d) => `  ${formatDetail(d)}\n`).join('')}`);
    return EXIT.negative;
  }
  let packed;
  try {
    packed = packRegistry(text, revision, { name: values.name, namespace: values.namespace, key: values.key });
  } catch (error) {
    if (!(error instanceof PackError)) throw error;
    process.stderr.write(`${path}: cannot be packed into ConfigMaps: ${error.message}\n`);
    return EXIT.negative;
  }
  if (values['prune-selector']) {
    process.stdout.write(`${packed.pruneSelector}\n`);
    return EXIT.ok;
  }
  process.stdout.write(packed.objects.map((object) => manifestYaml(object, values.key)).join('---\n'));
  return EXIT.ok;
}

/**
 * Characters JSON may hold raw that kubectl's YAML reader (go-yaml, YAML 1.1) does not read back
 * as themselves: NEL, LINE and PARAGRAPH SEPARATOR are line breaks to it, and DEL, the other C1
 * controls and a BOM are refused. The `yaml` library writes them raw.
 */
const UNSAFE_FOR_KUBECTL = /[\u007f-\u009f\u2028\u2029\ufeff]/;

/**
 * One manifest as YAML. A document holding any of the characters above goes in a double-quoted
 * scalar with those characters escaped, so that the API server stores it byte for byte; every
 * other one is written exactly as before.
 */
function manifestYaml(object: ConfigMapManifest, key: string): string {
  const text = object.data?.[key];
  if (text === undefined || !UNSAFE_FOR_KUBECTL.test(text)) return stringify(object, { lineWidth: 0 });
  const document = new Document(object);
  (document.getIn(['data', key], true) as Scalar).type = Scalar.QUOTE_DOUBLE;
  // Only that scalar holds such characters (the others are names and labels), and in double quotes `\uXXXX` is the character.
  const escaped = new RegExp(UNSAFE_FOR_KUBECTL, 'g');
  return document.toString({ lineWidth: 0 }).replace(escaped, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The ConfigMaps in `kubectl get configmap -o json|yaml` output: a List's items, or the one object. */
function configMapsIn(text: string, path: string): readonly (ConfigMapContent & { readonly metadata?: { readonly name?: string } })[] {
  let value: unknown;
  try {
    // JSON first: a 100,000-actor registry's parts are megabytes of base64, which JSON.parse reads fastest.
    value = JSON.parse(text);
  } catch {
    try {
      value = parse(text);
    } catch (error) {
      throw new InputError(`${path} is neither JSON nor YAML: ${(error as Error).message}`);
    }
  }
  const object = (value ?? {}) as { kind?: unknown; items?: unknown };
  if (object.kind === 'ConfigMap') return [object as ConfigMapContent];
  if (object.kind === 'List' && Array.isArray(object.items)) {
    return (object.items as unknown[]).filter((item): item is ConfigMapContent => typeof item === 'object' && item !== null);
  }
  throw new InputError(`${path} holds neither a ConfigMap nor a List of them (the output of kubectl get configmap -o json)`);
}

/** Prints the document that ConfigMap `name` publishes, from the ConfigMaps (and parts) in `path`. */
async function unpack(path: string, target: { readonly name: string; readonly key: string }): Promise<number> {
  const byName = new Map(configMapsIn(await readInput(path), path).map((object) => [object.metadata?.name, object]));
  const main = byName.get(target.name);
  if (main === undefined) {
    process.stderr.write(`${path}: no ConfigMap ${target.name} in it\n`);
    return EXIT.negative;
  }
  let unpacked;
  try {
    unpacked = await unpackRegistry(main, target, async (name) => byName.get(name));
  } catch (error) {
    if (!(error instanceof UnpackError)) throw error;
    const hint = error.waiting ? ' (list every ConfigMap of the namespace: kubectl -n NS get configmap -o json)' : '';
    process.stderr.write(`${path}: ConfigMap ${target.name} ${error.message}${hint}\n`);
    return EXIT.negative;
  }
  process.stdout.write(unpacked.document);
  return EXIT.ok;
}
