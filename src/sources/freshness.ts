/** What `/readyz` and the check lane need to know about the staleness guard. */
export interface FreshnessStatus {
  readonly stale: boolean;
  readonly confirmedAt: Date;
  /** Milliseconds since that confirmation. */
  readonly quietMs: number;
  readonly maxStalenessMs: number;
}

/**
 * The staleness guard (`--max-staleness`): the time the source last confirmed that the loaded
 * registry is current (a successful list, a watch event or bookmark, a read of the object that
 * matches what the watch delivered). Past the bound, the registry is stale: the service denies
 * rather than decide on a registry that may have lost a revocation. Time comes from `now`, so
 * tests move it by hand.
 */
export class Freshness {
  readonly maxStalenessMs: number;
  private readonly now: () => number;
  private confirmedAtMs: number;
  private readonly listeners: ((stale: boolean) => void)[] = [];
  private wasStale = false;

  constructor(maxStalenessMs: number, now: () => number = Date.now) {
    this.maxStalenessMs = maxStalenessMs;
    this.now = now;
    // The bound runs from start-up: a source that never answers turns stale like one that stopped.
    this.confirmedAtMs = now();
  }

  confirm(): void {
    this.confirmedAtMs = this.now();
    this.notice();
  }

  /** True past the bound. Cheap: every check asks. */
  stale(): boolean {
    return this.now() - this.confirmedAtMs > this.maxStalenessMs;
  }

  /** Milliseconds since the last confirmation. */
  quietMs(): number {
    return this.now() - this.confirmedAtMs;
  }

  status(): FreshnessStatus {
    const quietMs = this.quietMs();
    return { stale: quietMs > this.maxStalenessMs, confirmedAt: new Date(this.confirmedAtMs), quietMs, maxStalenessMs: this.maxStalenessMs };
  }

  /** Called with the new state whenever `notice` finds it changed (for the log). */
  onChange(listener: (stale: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Looks at the state now and tells listeners if it changed since the last look. */
  notice(): void {
    const stale = this.stale();
    if (stale === this.wasStale) return;
    this.wasStale = stale;
    for (const listener of this.listeners) listener(stale);
  }
}
