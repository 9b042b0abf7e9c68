import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { formatDetail, RegistryValidationError } from '../core/errors.js';
import { loadRegistry } from '../registry/load.js';
import { EXIT, readInput, UsageError } from './io.js';

export const CONFIGMAP_USAGE = `flex-auth configmap PATH [--name flex-auth-registry] [--namespace flex-auth] [--key registry.json]

  Prints a ConfigMap manifest holding the registry document verbatim, for
  \`flex-auth configmap PATH | kubectl apply -f -\`. Refuses an invalid registry (exit 1).`;

/** Annotation carrying the document's revision, so `kubectl get -o yaml` shows what is published. */
export const REVISION_ANNOTATION = 'flex-auth/registry-revision';

export async function configmap(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      name: { type: 'string', default: 'flex-auth-registry' },
      namespace: { type: 'string', default: 'flex-auth' },
      key: { type: 'string', default: 'registry.json' },
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
  const manifest = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: values.name,
      namespace: values.namespace,
      labels: { 'app.kubernetes.io/name': 'flex-auth', 'app.kubernetes.io/component': 'registry' },
      annotations: { [REVISION_ANNOTATION]: revision },
    },
    data: { [values.key]: text },
  };
  process.stdout.write(stringify(manifest, { lineWidth: 0 }));
  return EXIT.ok;
}
