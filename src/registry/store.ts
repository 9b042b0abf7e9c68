import { createHash } from 'node:crypto';
import { formatDetail, RegistryValidationError } from '../core/errors.js';
import type { ErrorDetail } from '../core/errors.js';
import type { CompiledRegistry } from './compiled-registry.js';
import { loadRegistry } from './load.js';

export type SourceKind = 'file' | 'configmap' | 'embedded';

/** Where documents come from: `name` is `file:PATH`, `configmap:NS/NAME` or `embedded:PATH`. */
export interface SourceInfo {
  readonly kind: SourceKind;
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

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Holds the registry the service answers from. Every document is validated and compiled in
 * full before a single assignment swaps it in, so a request sees the old registry or the new
 * one, never a mix, and a bad document never replaces a good one. Loading is synchronous,
 * so reloads cannot interleave.
 */
export class RegistryStore {
  readonly source: SourceInfo;
  private active: ActiveRegistry | undefined;
  private lastFailure: ReloadFailure | undefined;
  /** The last document handled and whether it was rejected: the same bytes again change nothing. */
  private lastText: { readonly hash: string; readonly rejected: boolean } | undefined;
  private readonly listeners: ((event: ReloadEvent) => void)[] = [];
  private readonly now: () => Date;

  constructor(source: SourceInfo, options: { now?: () => Date } = {}) {
    this.source = source;
    this.now = options.now ?? (() => new Date());
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
    const hash = sha256(text);
    if (hash === this.lastText?.hash) {
      this.noteVersion(sourceVersion);
      return this.lastText.rejected ? 'rejected' : 'unchanged';
    }
    let registry: CompiledRegistry;
    try {
      registry = loadRegistry(text);
    } catch (error) {
      // Anything else is a bug in validation; the document is refused all the same (fail closed).
      const known = error instanceof RegistryValidationError;
      this.lastText = { hash, rejected: true };
      this.recordFailure(known ? error.message : `registry could not be validated: ${String(error)}`, known ? error.details : []);
      return 'rejected';
    }
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
