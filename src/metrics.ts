import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ACTOR_TYPES } from './core/types.js';
import type { ReloadEvent, StoreSource } from './registry/store.js';

/** How a caller proved itself: a static token (`--auth-token-file`) or Kubernetes TokenReview. */
export type AuthMethod = 'static' | 'tokenreview';
/** What came of it: admitted, no valid token (401), valid but not allowed (403), not verifiable now (503). */
export type AuthOutcome = 'allowed' | 'unauthenticated' | 'forbidden' | 'unavailable';

type Labels<N extends string> = Record<N, string>;

/**
 * A counter's series counted in plain numbers on the hot path and handed to prom-client when
 * the counter is read (a scrape): prom-client's `inc(labels)` builds a key string from the
 * labels on every call, which cost about 250 ns per check per counter. Three label values,
 * looked up in nested maps; each series is handed over in the order it was first counted, the
 * order prom-client itself would list it in. A property test checks the exposition against
 * counters fed the plain way.
 */
class PlainCounts<A, B, C, N extends string> {
  private readonly byA = new Map<A, Map<B, Map<C, { readonly labels: Labels<N>; value: number; handed: number }>>>();
  private readonly series: { readonly labels: Labels<N>; value: number; handed: number }[] = [];

  constructor(private readonly labelsOf: (a: A, b: B, c: C) => Labels<N>) {}

  add(a: A, b: B, c: C): void {
    let byB = this.byA.get(a);
    if (byB === undefined) this.byA.set(a, (byB = new Map()));
    let byC = byB.get(b);
    if (byC === undefined) byB.set(b, (byC = new Map()));
    let cell = byC.get(c);
    if (cell === undefined) {
      byC.set(c, (cell = { labels: this.labelsOf(a, b, c), value: 0, handed: 0 }));
      this.series.push(cell);
    }
    cell.value += 1;
  }

  /** Adds to `counter` what was counted since the last call. */
  handTo(counter: Counter<N>): void {
    for (const cell of this.series) {
      if (cell.value === cell.handed) continue;
      counter.inc(cell.labels, cell.value - cell.handed);
      cell.handed = cell.value;
    }
  }
}

/**
 * The contract's metrics, on a prom-client Registry of this service's own (never the global
 * one, so two services in one process, as in tests, do not share counters). Labels take only
 * bounded values: never an actor, a subject or free text.
 */
export class Metrics {
  readonly registry = new Registry();

  private readonly decisionCounts = new PlainCounts((action: string, allow: boolean, reason: string) => ({ action, allow: String(allow), reason }));

  private readonly decisions: Counter<'action' | 'allow' | 'reason'> = new Counter({
    name: 'flex_auth_decisions_total',
    help: 'Check decisions by action, outcome and reason.',
    labelNames: ['action', 'allow', 'reason'] as const,
    registers: [this.registry],
    collect: (): void => this.decisionCounts.handTo(this.decisions),
  });

  private readonly checkDuration = new Histogram({
    name: 'flex_auth_check_duration_seconds',
    help: 'Time to answer a check, from request to decision.',
    // Decisions take tens of microseconds; the upper buckets catch queueing under load.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  private readonly httpCounts = new PlainCounts((route: string, method: string, status: number) => ({ route, method, status: String(status) }));

  private readonly httpRequests: Counter<'route' | 'method' | 'status'> = new Counter({
    name: 'flex_auth_http_requests_total',
    help: 'HTTP requests by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
    collect: (): void => this.httpCounts.handTo(this.httpRequests),
  });

  private readonly decisionLogFailures = new Counter({
    name: 'flex_auth_decision_log_failures_total',
    help: 'Checks answered 500 because their decision log line could not be written.',
    registers: [this.registry],
  });

  private readonly authResults = new Counter({
    name: 'flex_auth_auth_results_total',
    help: 'Caller authentication results by method and outcome.',
    labelNames: ['method', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly reloads = new Counter({
    name: 'flex_auth_registry_reloads_total',
    help: 'Registry reloads by source kind and result.',
    labelNames: ['source', 'result'] as const,
    registers: [this.registry],
  });

  private readonly info = new Gauge({
    name: 'flex_auth_registry_info',
    help: 'The active registry revision (1 for the active revision only).',
    labelNames: ['revision', 'source'] as const,
    registers: [this.registry],
  });

  private readonly actors = new Gauge({
    name: 'flex_auth_registry_actors',
    help: 'Actors in the active registry by type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  private readonly relationships = new Gauge({
    name: 'flex_auth_registry_relationships',
    help: 'Relationship tuples in the active registry.',
    registers: [this.registry],
  });

  private readonly lastSuccess = new Gauge({
    name: 'flex_auth_registry_last_success_timestamp_seconds',
    help: 'Unix time of the last successful registry load.',
    registers: [this.registry],
  });

  private readonly ready = new Gauge({
    name: 'flex_auth_registry_ready',
    help: '1 once a valid registry is loaded, else 0.',
    registers: [this.registry],
  });

  /** The staleness guard's state, read at each scrape; never stale without the guard. */
  private isStale: () => boolean = () => false;

  private readonly stale: Gauge = new Gauge({
    name: 'flex_auth_registry_stale',
    help: '1 while the registry is past --max-staleness unconfirmed (checks are then denied), else 0.',
    registers: [this.registry],
    collect: (): void => this.stale.set(this.isStale() ? 1 : 0),
  });

  private readonly sourceKind: StoreSource['kind'];

  constructor(sourceKind: StoreSource['kind']) {
    this.sourceKind = sourceKind;
    collectDefaultMetrics({ register: this.registry });
    // prom-client's `nodejs_active_*_total` gauges break `promtool check metrics` (a gauge
    // must not end in _total); the same values stay exposed without the suffix.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
    this.ready.set(0);
    for (const result of ['success', 'failure']) this.reloads.inc({ source: sourceKind, result }, 0);
  }

  /** With the staleness guard on: `flex_auth_registry_stale` follows it. */
  followStaleness(isStale: () => boolean): void {
    this.isStale = isStale;
  }

  recordDecision(action: string, allow: boolean, reason: string, seconds: number): void {
    this.decisionCounts.add(action, allow, reason);
    this.checkDuration.observe(seconds);
  }

  recordDecisionLogFailure(): void {
    this.decisionLogFailures.inc();
  }

  recordAuth(method: AuthMethod, outcome: AuthOutcome): void {
    this.authResults.inc({ method, outcome });
  }

  recordHttp(route: string, method: string, status: number): void {
    this.httpCounts.add(route, method, status);
  }

  recordReload(event: ReloadEvent): void {
    this.reloads.inc({ source: this.sourceKind, result: event.result });
    if (event.result !== 'success') return;
    const { registry, loadedAt } = event.active;
    this.info.reset();
    this.info.set({ revision: registry.revision, source: this.sourceKind }, 1);
    for (const type of ACTOR_TYPES) this.actors.set({ type }, registry.counts.actors_by_type[type]);
    this.relationships.set(registry.counts.relationships);
    this.lastSuccess.set(loadedAt.getTime() / 1000);
    this.ready.set(1);
  }
}
