import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { CoreV1Api } from '@kubernetes/client-node';
import { parseDuration } from '../core/duration.js';
import type { ReplicaState } from '../sources/events.js';
import { REVISION_ANNOTATION } from '../sources/packed-registry.js';
import { EXIT, UsageError } from './io.js';
import { isConfigMapName, isNamespaceName } from './kube-names.js';

export const STATUS_USAGE = `flex-auth status [--namespace flex-auth] [--name flex-auth-registry] [--wait DURATION]

  Which registry revision each flex-auth replica serves, from the Events the replicas record
  on the registry ConfigMap, against the revision the ConfigMap holds (its
  ${REVISION_ANNOTATION} annotation). One line per replica. Exit 0 when every replica that
  reported in the last 10 minutes serves that revision (and at least one does), 1 otherwise,
  2 on usage errors. With --wait (such as 2m), looks again every second until then or until
  the duration ends. Reads through KUBECONFIG, else ~/.kube/config (needs get on the ConfigMap
  and list on events in its namespace).`;

/** Replicas that reported longer ago than this are shown but not counted (gone, or long settled). */
export const RECENT_MS = 10 * 60 * 1000;
const POLL_MS = 1000;

interface Rollout {
  readonly current: string | undefined;
  readonly replicas: readonly ReplicaState[];
}

interface Verdict {
  readonly ok: boolean;
  readonly summary: string;
}

/**
 * The Kubernetes client is loaded when the command runs, not with its usage: `flex-auth --help`
 * loads every command to list them, and should not take the client's half a second.
 */
const kubernetes = () => import('@kubernetes/client-node');
const kubeConfig = () => import('../sources/configmap.js');
const eventReader = () => import('../sources/events.js');

async function readRollout(api: CoreV1Api, namespace: string, name: string): Promise<Rollout> {
  const { replicaStates, statusOf } = await eventReader();
  let current: string | undefined;
  try {
    const configMap = await api.readNamespacedConfigMap({ name, namespace });
    current = configMap.metadata?.annotations?.[REVISION_ANNOTATION];
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
  }
  const events = await api.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=ConfigMap,involvedObject.name=${name}` });
  return { current, replicas: replicaStates(events.items) };
}

/** `sha256:` and 12 hex digits: enough to tell revisions apart in a table; the header has the whole one. */
export function shortRevision(revision: string): string {
  return revision.startsWith('sha256:') ? revision.slice(0, 'sha256:'.length + 12) : revision;
}

const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function judge({ current, replicas }: Rollout, namespace: string, name: string, now: Date): Verdict {
  if (current === undefined) {
    return { ok: false, summary: `ConfigMap ${namespace}/${name} is missing or has no ${REVISION_ANNOTATION} annotation (publish it with flex-auth configmap)` };
  }
  const recent = replicas.filter((r) => now.getTime() - r.lastReport.getTime() <= RECENT_MS);
  const behind = recent.filter((r) => r.serving?.revision !== current);
  if (behind.length > 0) {
    const old = [...new Set(behind.map((r) => (r.serving ? shortRevision(r.serving.revision) : 'no registry')))];
    return { ok: false, summary: `${behind.length} of ${recent.length} replicas do not serve ${shortRevision(current)}; they serve ${old.join(', ')}` };
  }
  if (!replicas.some((r) => r.serving?.revision === current)) {
    return { ok: false, summary: `no replica has reported loading ${shortRevision(current)} yet` };
  }
  return { ok: true, summary: `every replica that reported in the last 10 minutes serves ${shortRevision(current)}` };
}

function ago(from: Date, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  return `${Math.round(seconds / 3600)}h ago`;
}

export function render(rollout: Rollout, verdict: Verdict, namespace: string, name: string, now: Date): string {
  const lines = [`ConfigMap ${namespace}/${name}: revision ${rollout.current ?? '(none)'}`];
  const rows = rollout.replicas.map((r) => {
    const serving = r.serving ? `${shortRevision(r.serving.revision)}  since ${isoSeconds(r.serving.since)} (${ago(r.serving.since, now)})` : 'no registry loaded';
    const notes = [
      r.serving?.revision === rollout.current ? 'current' : 'OLD',
      ...(r.rejected ? [`rejected ${shortRevision(r.rejected.what)} ${ago(r.rejected.at, now)}`] : []),
      ...(now.getTime() - r.lastReport.getTime() > RECENT_MS ? ['not counted: no report in 10m'] : []),
    ];
    return [r.instance, serving, notes.join(', ')];
  });
  if (rows.length === 0) lines.push('no replica has recorded an Event on this ConfigMap');
  const width = Math.max(7, ...rows.map(([instance]) => instance!.length));
  for (const [instance, serving, notes] of rows) lines.push(`${instance!.padEnd(width)}  ${serving}  ${notes}`);
  lines.push(`${verdict.ok ? 'OK' : 'NOT YET'}: ${verdict.summary}`);
  return `${lines.join('\n')}\n`;
}

export async function status(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args, strict: true, allowPositionals: false,
    options: { namespace: { type: 'string' }, name: { type: 'string' }, wait: { type: 'string' } },
  });
  const namespace = values.namespace ?? 'flex-auth';
  const name = values.name ?? 'flex-auth-registry';
  if (!isNamespaceName(namespace)) throw new UsageError(`--namespace must be a Kubernetes namespace name (got ${namespace})`);
  if (!isConfigMapName(name)) throw new UsageError(`--name must be a ConfigMap name (got ${name})`);
  let waitMs = 0;
  if (values.wait !== undefined) {
    const parsed = parseDuration(values.wait);
    if (!parsed.ok || parsed.seconds > 3600) throw new UsageError(`--wait must be a duration up to 1h, such as 90s or 5m (got ${values.wait})`);
    waitMs = parsed.seconds * 1000;
  }
  const [{ CoreV1Api: Api }, { loadKubeConfig }] = await Promise.all([kubernetes(), kubeConfig()]);
  let api: CoreV1Api;
  try {
    api = loadKubeConfig().makeApiClient(Api);
  } catch (error) {
    // No cluster to ask is a rollout not shown to be done: 1, as the contract says, not a usage error.
    process.stderr.write(`flex-auth status: ${(error as Error).message}\n`);
    return EXIT.negative;
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    let rollout: Rollout;
    try {
      rollout = await readRollout(api, namespace, name);
    } catch (error) {
      // The API server may be briefly away while waiting; past the deadline, say why and fail.
      if (Date.now() >= deadline) {
        process.stderr.write(`flex-auth status: cannot read ${namespace}/${name} or its Events: ${(error as Error).message}\n`);
        return EXIT.negative;
      }
      await delay(Math.min(POLL_MS, deadline - Date.now()));
      continue;
    }
    const now = new Date();
    const verdict = judge(rollout, namespace, name, now);
    if (verdict.ok || Date.now() >= deadline) {
      process.stdout.write(render(rollout, verdict, namespace, name, now));
      return verdict.ok ? EXIT.ok : EXIT.negative;
    }
    await delay(Math.min(POLL_MS, deadline - Date.now()));
  }
}
