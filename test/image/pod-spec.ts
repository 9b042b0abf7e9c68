import { runCommand } from '../helpers/process.js';
import type { CommandResult } from '../helpers/process.js';

/**
 * `podman run` the way a kubelet would run a pod spec's first container: the pod's and the
 * container's securityContext, env, args, emptyDir mounts, resource limits and ports. Anything
 * in the spec this cannot reproduce is an error, so that a chart change cannot silently make
 * the container run differently here than in a cluster.
 */

/** Debian's podman here: crun fails on hybrid cgroups, and raising RLIMIT_NOFILE is not permitted. Machine facts, not the image's. */
const PODMAN_GLOBAL = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];
export const PODMAN_ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

export function podman(args: readonly string[], timeoutMs = 120_000): Promise<CommandResult> {
  return runCommand('podman', [...PODMAN_GLOBAL, ...args], { timeoutMs });
}

/** podman, failing on a non-zero exit; returns stdout. */
export async function mustPodman(args: readonly string[], timeoutMs?: number): Promise<string> {
  const result = await podman(args, timeoutMs);
  if (result.code !== 0) throw new Error(`podman ${args.join(' ')} failed (exit ${result.code}): ${result.stderr}`);
  return result.stdout;
}

type Json = Record<string, any>;

const BINARY_SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };

/** A Kubernetes memory quantity (plain bytes, Ki, Mi or Gi) in bytes. */
export function bytesOf(quantity: string): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity);
  if (!match) throw new Error(`unsupported memory quantity ${JSON.stringify(quantity)}`);
  return Number(match[1]) * (match[2] ? BINARY_SUFFIX[match[2]]! : 1);
}

/** A Kubernetes CPU quantity ("1", "0.5", "500m") in CPUs. */
export function cpusOf(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(m)?$/.exec(quantity);
  if (!match) throw new Error(`unsupported cpu quantity ${JSON.stringify(quantity)}`);
  return Number(match[1]) / (match[2] ? 1000 : 1);
}

export interface PodRun {
  /** `podman run` options (before the image). */
  readonly options: string[];
  /** The container's args (after the image; the image's ENTRYPOINT stays, as in Kubernetes). */
  readonly args: string[];
  /** The container ports, to publish; the first serves the checks. */
  readonly ports: number[];
  /** Where the kubelet's readiness probe asks: the container port (a named port resolved) and the path. */
  readonly readiness: { readonly port: number; readonly path: string };
  readonly terminationGracePeriodSeconds: number;
  readonly automountServiceAccountToken: boolean;
}

const SUPPORTED_CONTAINER_KEYS = new Set(['name', 'image', 'imagePullPolicy', 'args', 'env', 'ports', 'livenessProbe', 'readinessProbe',
  'resources', 'securityContext', 'volumeMounts', 'terminationMessagePath', 'terminationMessagePolicy']);

/** The readiness probe's HTTP target, its port given by name or number as Kubernetes allows. */
function readinessOf(container: Json): PodRun['readiness'] {
  const get = container.readinessProbe?.httpGet as Json | undefined;
  if (!get) throw new Error('expected an httpGet readinessProbe');
  const port = typeof get.port === 'number' ? get.port : (container.ports ?? []).find((p: Json) => p.name === get.port)?.containerPort;
  if (typeof port !== 'number') throw new Error(`readinessProbe port ${JSON.stringify(get.port)} is not a container port`);
  return { port, path: get.path ?? '/' };
}

export function podRun(podSpec: Json, podName = 'flex-auth-image-test'): PodRun {
  if (podSpec.containers?.length !== 1 || podSpec.initContainers?.length) throw new Error('expected exactly one container and no init containers');
  const container = podSpec.containers[0] as Json;
  for (const key of Object.keys(container)) if (!SUPPORTED_CONTAINER_KEYS.has(key)) throw new Error(`container field ${key} is not reproduced by podRun`);
  const security: Json = { ...podSpec.securityContext, ...container.securityContext };
  const options: string[] = [];

  if (typeof security.runAsUser !== 'number' || typeof security.runAsGroup !== 'number') throw new Error('expected a numeric runAsUser and runAsGroup');
  if (security.runAsNonRoot && security.runAsUser === 0) throw new Error('runAsNonRoot with runAsUser 0 would not start');
  options.push('--user', `${security.runAsUser}:${security.runAsGroup}`);
  if (typeof podSpec.securityContext?.fsGroup === 'number') options.push('--group-add', String(podSpec.securityContext.fsGroup));
  // podman's own tmpfs mounts on a read-only root would hide a missing emptyDir: off, as in a pod.
  if (security.readOnlyRootFilesystem) options.push('--read-only', '--read-only-tmpfs=false');
  for (const cap of security.capabilities?.drop ?? []) options.push('--cap-drop', cap);
  for (const cap of security.capabilities?.add ?? []) options.push('--cap-add', cap);
  if (security.allowPrivilegeEscalation === false) options.push('--security-opt', 'no-new-privileges');
  // podman applies its default seccomp profile unless told otherwise: the runtime's default.
  if (security.seccompProfile && security.seccompProfile.type !== 'RuntimeDefault') throw new Error(`seccompProfile ${security.seccompProfile.type} is not reproduced`);
  if (security.privileged) throw new Error('privileged containers are not reproduced');

  // A pod's hostname is its name, which the downward API's metadata.name also gives.
  options.push('--hostname', podName);
  for (const variable of container.env ?? []) {
    if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.name') options.push('--env', `${variable.name}=${podName}`);
    else if (variable.valueFrom) throw new Error(`env ${variable.name} uses valueFrom ${JSON.stringify(variable.valueFrom)}, which is not reproduced`);
    else options.push('--env', `${variable.name}=${variable.value ?? ''}`);
  }
  const volumes = new Map<string, Json>((podSpec.volumes ?? []).map((v: Json) => [v.name, v]));
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.get(mount.name);
    if (!volume?.emptyDir) throw new Error(`volume ${mount.name} is not an emptyDir, which is all podRun reproduces`);
    if (volume.emptyDir.medium) throw new Error(`emptyDir medium ${volume.emptyDir.medium} is not reproduced`);
    // An emptyDir is writable by the pod's users (0777 + fsGroup); its sizeLimit evicts, a tmpfs size refuses writes.
    const size = volume.emptyDir.sizeLimit ? `,size=${bytesOf(volume.emptyDir.sizeLimit)}` : '';
    options.push('--tmpfs', `${mount.mountPath}:rw,mode=1777${size}`);
  }
  const limits: Json = container.resources?.limits ?? {};
  if (limits.memory) options.push('--memory', String(bytesOf(limits.memory)));
  if (limits.cpu) options.push('--cpus', String(cpusOf(String(limits.cpu))));

  return {
    options,
    args: container.args ?? [],
    ports: (container.ports ?? []).map((p: Json) => p.containerPort as number),
    readiness: readinessOf(container),
    terminationGracePeriodSeconds: podSpec.terminationGracePeriodSeconds ?? 30,
    automountServiceAccountToken: podSpec.automountServiceAccountToken !== false,
  };
}
