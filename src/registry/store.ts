import { createHash } from 'node:crypto';
import { formatDetail, RegistryValidationError } from '../core/errors.js';
import type { ErrorDetail } from '../core/errors.js';
import type { CompiledRegistry } from './compiled-registry.js';
import { loadRegistry } from './load.js';
import { decodeUtf8, loadInWorker } from './load-in-worker.js';

/**
 * What the store knows of where its documents come from: a kind and the name `/readyz` shows.
 * The kinds themselves are the sources' business (sources/source.ts, SourceInfo); the registry
 * layer needs no more than this, and imports nothing from sources.
 */
export interface StoreSource {
  readonly kind: string;
  readonly name: string;
}

export interface ActiveRegistry {
  readonly registry: CompiledRegistry;
  readonly loadedAt: Date;
  /** The source's own version of the document, e.g. a ConfigMap's resourceVersion. */
  readonly sourceVersion?: string;
}

export interface ReloadFailure {
  readonly message: string;
  readonly details: readonly ErrorDetail[];
  readonly at: Date;
}

export type ReloadEvent =
  | { readonly result: 'success'; readonly active: ActiveRegistry; readonly previous?: ActiveRegistry }
  | { readonly result: 'failure'; readonly failure: ReloadFailure; readonly active?: ActiveRegistry };

export type ApplyOutcome = 'loaded' | 'unchanged' | 'rejected';

export interface StoreStatus {
  readonly ready: boolean;
  readonly source: string;
  readonly revision: string | null;
  readonly source_version: string | null;
  readonly loaded_at: string | null;
  readonly last_error: { readonly message: string; readonly at: string; readonly details: readonly ErrorDetail[] } | null;
}

function sha256(document: string | Uint8Array): string {
  return createHash('sha256').update(document).digest('hex');
}

/** Documents at least this large are parsed and validated in a worker thread (see applyAsync). */
export const OFF_THREAD_BYTES = 1024 * 1024;

export interface StoreOptions {
  readonly now?: () => Date;
  /** Texts this long or longer are validated off the event loop; shorter ones at once (tests lower it). */
  readonly offThreadBytes?: number;
}

export interface ApplyOptions {
  /** The source's own version of the document, e.g. a ConfigMap's resourceVersion. */
  readonly sourceVersion?: string | undefined;
  /** The revision the publisher announced: a document with another one is refused. */
  readonly revision?: string | undefined;
}

/**
 * Holds the registry the service answers from. Every document is validated and compiled in
 * full before a single assignment swaps it in, so a request sees the old registry or the new
 * one, never a mix, and a bad document never replaces a good one. `apply` loads at once;
 * `applyAsync`, which sources use, queues documents and loads large ones off the event loop,
 * one at a time.
 */
export class RegistryStore {
  readonly source: StoreSource;
  private active: ActiveRegistry | undefined;
  private lastFailure: ReloadFailure | undefined;
  /** The last document handled and whether it was rejected: the same bytes again change nothing. */
  private lastText: { readonly hash: string; readonly rejected: boolean } | undefined;
  private readonly listeners: ((event: ReloadEvent) => void)[] = [];
  private readonly now: () => Date;
  private readonly offThreadBytes: number;
  /** The reload in progress and those queued behind it; undefined when idle. */
  private queue: Promise<unknown> | undefined;

  constructor(source: StoreSource, options: StoreOptions = {}) {
    this.source = source;
    this.now = options.now ?? (() => new Date());
    this.offThreadBytes = options.offThreadBytes ?? OFF_THREAD_BYTES;
  }

  current(): CompiledRegistry | undefined {
    return this.active?.registry;
  }

  snapshot(): ActiveRegistry | undefined {
    return this.active;
  }

  onReload(listener: (event: ReloadEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Validates and, if valid and new, swaps in a document. Never throws for a bad document. */
  apply(text: string, sourceVersion?: string): ApplyOutcome {
    return this.loadNow(text, { sourceVersion });
  }

  /**
   * Like `apply`, for sources, with the document as text or UTF-8 bytes: when idle, a small
   * document loads at once; otherwise documents wait their turn, and one of at least
   * `offThreadBytes` is decoded, parsed and validated in a worker thread, so checks go on
   * being answered while it loads. Bytes given here are handed over (their buffer detached).
   */
  applyAsync(document: string | Uint8Array, options: ApplyOptions = {}): Promise<ApplyOutcome> {
    const run = (): ApplyOutcome | Promise<ApplyOutcome> => {
      if (document.length < this.offThreadBytes) return this.loadNow(document, options);
      return loadInWorker(document, (hash) => hash === this.lastText?.hash).then(
        (result) => {
          if ('repeated' in result) return this.repeated(options);
          if ('error' in result) return this.refuse(result.hash, result.error);
          return this.accept(result.hash, result.registry, options);
        },
        (error: unknown) => this.refuse(undefined, error),
      );
    };
    if (this.queue === undefined) {
      const outcome = run();
      if (!(outcome instanceof Promise)) return Promise.resolve(outcome);
      return this.track(outcome);
    }
    return this.track(this.queue.then(run));
  }

  /** Makes `work` the tail of the queue, and the queue idle again once it is the last. */
  private track(work: Promise<ApplyOutcome>): Promise<ApplyOutcome> {
    const tail = work.finally(() => {
      if (this.queue === tail) this.queue = undefined;
    });
    this.queue = tail;
    return tail;
  }

  private loadNow(document: string | Uint8Array, options: ApplyOptions): ApplyOutcome {
    const hash = sha256(document);
    if (hash === this.lastText?.hash) return this.repeated(options);
    let registry: CompiledRegistry;
    try {
      registry = loadRegistry(typeof document === 'string' ? document : decodeUtf8(document));
    } catch (error) {
      return this.refuse(hash, error);
    }
    return this.accept(hash, registry, options);
  }

  private repeated({ sourceVersion, revision }: ApplyOptions): ApplyOutcome {
    // Stryker disable next-line OptionalChaining: only called when the text matched the remembered one.
    const rejected = this.lastText?.rejected === true;
    const active = this.active?.registry.revision;
    // The bytes of the registry served, announced as another revision: refused, as a first load would be.
    if (!rejected && revision !== undefined && active !== undefined && revision !== active) return this.refuseAnnounced(active, revision);
    this.noteVersion(sourceVersion);
    return rejected ? 'rejected' : 'unchanged';
  }

  /** `hash` is undefined when the text was never hashed (the worker failed): it is then read afresh next time. */
  private refuse(hash: string | undefined, error: unknown): ApplyOutcome {
    // Anything else is a bug in validation; the document is refused all the same (fail closed).
    const known = error instanceof RegistryValidationError;
    // Stryker disable next-line ConditionalExpression: a remembered text without a hash matches none, as no memory does.
    this.lastText = hash === undefined ? undefined : { hash, rejected: true };
    this.recordFailure(known ? error.message : `registry could not be validated: ${String(error)}`, known ? error.details : []);
    return 'rejected';
  }

  /** A document whose revision is not the one its publisher announced. */
  private refuseAnnounced(actual: string, announced: string): ApplyOutcome {
    // Not remembered as rejected: the same text with the right announcement is fine.
    this.lastText = undefined;
    this.recordFailure(`the document's revision ${actual} is not the announced ${announced}`, []);
    return 'rejected';
  }

  private accept(hash: string, registry: CompiledRegistry, { sourceVersion, revision }: ApplyOptions): ApplyOutcome {
    if (revision !== undefined && registry.revision !== revision) return this.refuseAnnounced(registry.revision, revision);
    // Stryker disable next-line ObjectLiteral: a good text not remembered is loaded again and found unchanged by its revision.
    this.lastText = { hash, rejected: false };
    this.lastFailure = undefined;
    if (registry.revision === this.active?.registry.revision) {
      this.noteVersion(sourceVersion);
      return 'unchanged';
    }
    const previous = this.active;
    this.active = { registry, loadedAt: this.now(), ...(sourceVersion === undefined ? {} : { sourceVersion }) };
    this.emit({ result: 'success', active: this.active, ...(previous ? { previous } : {}) });
    return 'loaded';
  }

  /**
   * The source delivered again the version of the document that is served: a source failure
   * recorded since (a lost connection, a part it waited for) is over. A content failure of a
   * newer version is not: that version is not `sourceVersion`.
   */
  sourceRecovered(sourceVersion: string): void {
    if (this.lastFailure !== undefined && this.active?.sourceVersion === sourceVersion) this.lastFailure = undefined;
  }

  /**
   * Records a failure that is not about a document's content (file missing, ConfigMap
   * deleted, key absent). The active registry, if any, stays; the next document is read afresh.
   */
  fail(message: string): void {
    this.lastText = undefined;
    this.recordFailure(message, []);
  }

  status(): StoreStatus {
    const active = this.active;
    const failure = this.lastFailure;
    return {
      ready: active !== undefined,
      source: this.source.name,
      revision: active?.registry.revision ?? null,
      source_version: active?.sourceVersion ?? null,
      loaded_at: active?.loadedAt.toISOString() ?? null,
      last_error: failure
        ? { message: failure.message, at: failure.at.toISOString(), details: failure.details }
        : null,
    };
  }

  private recordFailure(message: string, details: readonly ErrorDetail[]): void {
    this.lastFailure = { message, details, at: this.now() };
    this.emit({ result: 'failure', failure: this.lastFailure, ...(this.active ? { active: this.active } : {}) });
  }

  private noteVersion(sourceVersion: string | undefined): void {
    if (this.active && sourceVersion !== undefined && sourceVersion !== this.active.sourceVersion) {
      this.active = { ...this.active, sourceVersion };
    }
  }

  private emit(event: ReloadEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** One line for logs: the message and the first few details. */
export function describeFailure(failure: ReloadFailure): string {
  const shown = failure.details.slice(0, 5).map(formatDetail);
  const more = failure.details.length > shown.length ? ` (+${failure.details.length - shown.length} more)` : '';
  return shown.length ? `${failure.message}: ${shown.join('; ')}${more}` : failure.message;
}
