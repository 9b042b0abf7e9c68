import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { CoreV1Api, CoreV1Event, V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from '../logger.js';
import { REVISION_ANNOTATION } from './packed-registry.js';

/**
 * Kubernetes Events that say what each replica did with each registry revision (contract
 * section 13), so `kubectl describe configmap` and `flex-auth status` show a rollout. Core v1
 * Events with `involvedObject` the ConfigMap (uid included: `kubectl describe` selects by it).
 */

export const EVENT_COMPONENT = 'flex-auth';
export const LOADED_REASON = 'RegistryLoaded';
export const REJECTED_REASON = 'RegistryRejected';
/** On each Event: the revision it is about, so readers need not parse the message. */
export const EVENT_REVISION_ANNOTATION = REVISION_ANNOTATION;
/**
 * On each Event: when the replica last recorded it, to the millisecond. Event timestamps hold
 * whole seconds, and a replica that loads two revisions within one second must still say which
 * came last.
 */
export const EVENT_TIME_ANNOTATION = 'flex-auth/recorded-at';

export interface EventRecorderOptions {
  /** The replica's name: POD_NAME (the chart sets it from the downward API), else the hostname. */
  readonly instance?: string;
  /** Attempts per Event, transient failures only (5xx, network); 4xx are not retried. */
  readonly attempts?: number;
  readonly retryDelayMs?: number;
  /** How often the latest Event is recorded again, so readers know the replica is alive (default 5 minutes). */
  readonly refreshMs?: number;
  readonly now?: () => Date;
}

/** What one Event says; recorded again, unchanged, to show the replica still stands by it. */
interface Report {
  readonly configMap: V1ConfigMap;
  readonly reason: string;
  readonly type: string;
  readonly subject: string;
  readonly revision: string | undefined;
  readonly message: string;
}

export function replicaName(env: NodeJS.ProcessEnv = process.env): string {
  return env.POD_NAME || hostname();
}

/** The HTTP status of a client library error, when it has one. */
export function statusOf(error: unknown): number | undefined {
  const { statusCode, code } = error as { statusCode?: number; code?: number | string };
  return statusCode ?? (typeof code === 'number' ? code : undefined);
}

/**
 * Records Events for one ConfigMap, fire and forget: `loaded` and `rejected` return at once,
 * never throw, and a failure is logged, not reported to the store. The Event's name is derived
 * from the replica and what it is about, so a retry or a restart of the same pod updates the
 * one Event (count and lastTimestamp) instead of adding another.
 */
export class RegistryEventRecorder {
  readonly instance: string;
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  private readonly now: () => Date;
  private stopped = false;
  private latest: Report | undefined;
  private readonly refresh: NodeJS.Timeout;
  /** How often this process has recorded each Event: a patch sets the count without reading it first (RBAC grants create and patch only). */
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly api: CoreV1Api,
    private readonly namespace: string,
    private readonly logger: Logger,
    options: EventRecorderOptions = {},
  ) {
    this.instance = options.instance ?? replicaName();
    this.attempts = options.attempts ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.now = options.now ?? (() => new Date());
    // A replica that has loaded nothing new for long says so again: `flex-auth status` counts
    // replicas that reported in the last 10 minutes, and would otherwise not wait for this one.
    this.refresh = setInterval(() => { if (this.latest) void this.record(this.latest); }, options.refreshMs ?? 5 * 60_000);
    this.refresh.unref();
  }

  loaded(configMap: V1ConfigMap, revision: string): void {
    const message = `${this.instance} loaded revision ${revision}`;
    this.report({ configMap, reason: LOADED_REASON, type: 'Normal', subject: `loaded/${revision}`, revision, message });
  }

  /**
   * The ConfigMap holds the revision already served (it came back after a rejection, or was
   * deleted and created again): said again unless the latest Event already says it of this object,
   * so `flex-auth status` shows no stale rejection and `kubectl describe` (which finds Events by
   * uid) shows the live object's.
   */
  stillServing(configMap: V1ConfigMap, revision: string): void {
    const latest = this.latest;
    if (latest?.reason === LOADED_REASON && latest.revision === revision && latest.configMap.metadata?.uid === configMap.metadata?.uid) return;
    this.loaded(configMap, revision);
  }

  /** `revision` is what the publisher announced, when it did; the resourceVersion names the document otherwise. */
  rejected(configMap: V1ConfigMap, revision: string | undefined, errors: string): void {
    const what = revision ?? `resourceVersion ${configMap.metadata?.resourceVersion ?? 'unknown'}`;
    // The API server refuses messages over 1 kB; the first errors are enough to point at the problem.
    const message = `${this.instance} rejected ${what}: ${errors}`.slice(0, 1000);
    this.report({ configMap, reason: REJECTED_REASON, type: 'Warning', subject: `rejected/${what}`, revision, message });
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.refresh);
  }

  private report(report: Report): void {
    this.latest = report;
    void this.record(report);
  }

  private eventName(configMapName: string, subject: string): string {
    const hash = createHash('sha256').update(`${this.instance}\n${subject}`).digest('hex').slice(0, 16);
    return `${configMapName.slice(0, 200)}.${hash}`;
  }

  private async record(report: Report): Promise<void> {
    const { reason } = report;
    const name = this.eventName(report.configMap.metadata?.name ?? '', report.subject);
    for (let attempt = 1; ; attempt += 1) {
      if (this.stopped) return;
      try {
        await this.createOrUpdate(name, report);
        this.logger.debug({ event: name, reason }, 'kubernetes event recorded');
        return;
      } catch (error) {
        const status = statusOf(error);
        const transient = status === undefined || status >= 500 || status === 429;
        if (!transient || attempt >= this.attempts) {
          this.logger.warn({ event: name, reason, status: status ?? null, error: (error as Error).message?.slice(0, 300) }, 'could not record a kubernetes event; the reload itself is unaffected');
          return;
        }
        await delay(this.retryDelayMs * attempt, undefined, { ref: false });
      }
    }
  }

  private async createOrUpdate(name: string, { configMap, reason, type, revision, message }: Report): Promise<void> {
    const now = this.now();
    const annotations = { [EVENT_TIME_ANNOTATION]: now.toISOString(), ...(revision === undefined ? {} : { [EVENT_REVISION_ANNOTATION]: revision }) };
    const event: CoreV1Event = {
      metadata: { name, namespace: this.namespace, annotations },
      involvedObject: {
        apiVersion: 'v1', kind: 'ConfigMap', namespace: this.namespace, name: configMap.metadata?.name,
        uid: configMap.metadata?.uid, resourceVersion: configMap.metadata?.resourceVersion,
      },
      reason, type, message,
      firstTimestamp: now, lastTimestamp: now, count: 1,
      source: { component: EVENT_COMPONENT },
      reportingComponent: EVENT_COMPONENT,
      reportingInstance: this.instance,
    };
    try {
      await this.api.createNamespacedEvent({ namespace: this.namespace, body: event });
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
      // This replica said so before (a retry, or the container restarted): the same Event, later.
      const count = (this.counts.get(name) ?? 1) + 1;
      if (this.counts.size >= 1000) this.counts.clear();
      this.counts.set(name, count);
      // The object it is about, too: a ConfigMap deleted and created again has another uid.
      const patch = { metadata: { annotations: { [EVENT_TIME_ANNOTATION]: now.toISOString() } }, involvedObject: event.involvedObject, message, lastTimestamp: now, count };
      await this.api.patchNamespacedEvent({ name, namespace: this.namespace, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    }
  }
}

/** One replica's latest word about the ConfigMap, from its Events. */
export interface ReplicaState {
  readonly instance: string;
  /** The revision it last loaded (what it serves), if any Event says so. */
  readonly serving?: { readonly revision: string; readonly since: Date };
  /** A rejection newer than that load. */
  readonly rejected?: { readonly what: string; readonly at: Date; readonly message: string };
  /** When it last reported anything. */
  readonly lastReport: Date;
}

function eventTime(event: CoreV1Event): Date {
  const time = event.metadata?.annotations?.[EVENT_TIME_ANNOTATION] ?? event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata?.creationTimestamp;
  return time ? new Date(time) : new Date(0);
}

/** Each replica's state from the ConfigMap's Events (those flex-auth wrote; others are ignored). */
export function replicaStates(events: readonly CoreV1Event[]): ReplicaState[] {
  const byInstance = new Map<string, CoreV1Event[]>();
  for (const event of events) {
    if (event.reportingComponent !== EVENT_COMPONENT || !event.reportingInstance) continue;
    if (event.reason !== LOADED_REASON && event.reason !== REJECTED_REASON) continue;
    byInstance.set(event.reportingInstance, [...(byInstance.get(event.reportingInstance) ?? []), event]);
  }
  return [...byInstance.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([instance, list]) => {
    const ordered = [...list].sort((a, b) => eventTime(a).getTime() - eventTime(b).getTime());
    const loaded = ordered.filter((e) => e.reason === LOADED_REASON && e.metadata?.annotations?.[EVENT_REVISION_ANNOTATION]).at(-1);
    const last = ordered.at(-1)!;
    const serving = loaded ? { revision: loaded.metadata!.annotations![EVENT_REVISION_ANNOTATION]!, since: eventTime(loaded) } : undefined;
    const rejectedLater = last.reason === REJECTED_REASON
      ? { what: last.metadata?.annotations?.[EVENT_REVISION_ANNOTATION] ?? `resourceVersion ${last.involvedObject.resourceVersion ?? 'unknown'}`, at: eventTime(last), message: last.message ?? '' }
      : undefined;
    return { instance, ...(serving ? { serving } : {}), ...(rejectedLater ? { rejected: rejectedLater } : {}), lastReport: eventTime(last) };
  });
}
