import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { formatDetail, RegistryValidationError } from '../core/errors.js';
import { loadRegistry } from '../registry/load.js';
import { MAX_PARTS, PackError, packRegistry } from '../sources/packed-registry.js';
import { EXIT, readInput, UsageError } from './io.js';

export const CONFIGMAP_USAGE = `flex-auth configmap PATH [--name flex-auth-registry] [--namespace flex-auth] [--key registry.json] [--prune-selector]

  Prints ConfigMap manifests holding the registry, for
  \`flex-auth configmap PATH | kubectl apply -f -\` (client-side or --server-side).
  A registry that fits is the document verbatim in data.KEY; a larger one is gzipped
  into binaryData.KEY.gz and, past the API server's limits, split into at most
  ${MAX_PARTS} parts NAME-part-0.. listed before NAME (docs/registry.md).
  --prune-selector prints instead the label selector of the parts this manifest
  leaves unused, for \`kubectl delete configmap -l\` after the apply.
  Refuses an invalid registry, or one too large to pack (exit 1).`;

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
    },
  });
  if (positionals.length !== 1) throw new UsageError('give exactly one registry file');
  const path = positionals[0]!;
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
    process.stderr.write(`${path}: refusing a registry too large for ConfigMaps: ${error.message}\n`);
    return EXIT.negative;
  }
  if (values['prune-selector']) {
    process.stdout.write(`${packed.pruneSelector}\n`);
    return EXIT.ok;
  }
  process.stdout.write(packed.objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n'));
  return EXIT.ok;
}
