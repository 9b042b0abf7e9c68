import { writeFile } from 'node:fs/promises';
import { runCommand } from '../helpers/process.js';

/** kubectl as the cluster admin (the harness's KUBECONFIG); throws on a non-zero exit. */
export async function kubectl(args: readonly string[], stdin?: string): Promise<string> {
  const result = await runCommand('kubectl', args, { stdin, timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/**
 * Writes to `file` a kubeconfig that authenticates as ServiceAccount `name` in `namespace`
 * only, with a short-lived token, against the admin kubeconfig's cluster.
 */
export async function writeServiceAccountKubeconfig(namespace: string, name: string, file: string): Promise<void> {
  const token = (await kubectl(['-n', namespace, 'create', 'token', name, '--duration=1h'])).trim();
  const view = JSON.parse(await kubectl(['config', 'view', '--raw', '--minify', '-o', 'json'])) as { clusters: { cluster: Record<string, string> }[] };
  const config = {
    apiVersion: 'v1', kind: 'Config', 'current-context': name,
    clusters: [{ name: 'target', cluster: view.clusters[0]!.cluster }],
    users: [{ name, user: { token } }],
    contexts: [{ name, context: { cluster: 'target', user: name, namespace } }],
  };
  await writeFile(file, JSON.stringify(config), { mode: 0o600 });
}

/** `kubectl auth can-i ...` as ServiceAccount `name` of `namespace`: "yes" or "no". */
export async function canI(namespace: string, name: string, ...args: string[]): Promise<string> {
  return (await runCommand('kubectl', ['auth', 'can-i', ...args, `--as=system:serviceaccount:${namespace}:${name}`])).stdout.trim();
}
