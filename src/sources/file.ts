import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.js';
import type { RegistryStore, SourceInfo } from '../registry/store.js';
import { describeSource } from './source.js';
import type { RegistrySource } from './source.js';

export interface FileSourceOptions {
  readonly logger: Logger;
  /** Quiet time after the last change before re-reading, so a burst of events is one read. */
  readonly debounceMs?: number;
  /** Longest a steady stream of events may postpone a re-read. */
  readonly maxDelayMs?: number;
  /** Safety re-read in case an event is missed; 0 turns it off. Unchanged bytes cost one read. */
  readonly pollIntervalMs?: number;
}

/**
 * Follows a registry file by watching its directory rather than the file: an editor's
 * rename-save and a Kubernetes ConfigMap volume's `..data` symlink swap replace the file's
 * inode, which a watch on the file itself would lose. Every event leads to a debounced
 * re-read of the path (following symlinks); the store ignores bytes it has already seen.
 */
export class FileSource implements RegistrySource {
  readonly info: SourceInfo;
  private readonly file: string;
  private readonly store: RegistryStore;
  private readonly logger: Logger;
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly pollIntervalMs: number;
  /** When the first event of the current burst arrived; undefined when no read is pending. */
  private burstStartedAt: number | undefined;
  private watcher: FSWatcher | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private lastReadError: string | undefined;

  constructor(file: string, store: RegistryStore, options: FileSourceOptions) {
    this.file = path.resolve(file);
    this.info = describeSource({ kind: 'file', path: file });
    this.store = store;
    this.logger = options.logger;
    this.debounceMs = options.debounceMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 2000;
    this.pollIntervalMs = options.pollIntervalMs ?? 60_000;
  }

  async start(): Promise<void> {
    const directory = path.dirname(this.file);
    const info = await stat(directory).catch(() => undefined);
    if (!info?.isDirectory()) throw new Error(`registry directory ${directory} does not exist`);
    this.watcher = watch(directory, () => this.schedule());
    this.watcher.on('error', (error) => this.logger.warn({ err: error, directory }, 'registry directory watch failed; relying on periodic re-reads'));
    await this.reload();
    if (this.pollIntervalMs > 0) this.pollTimer = setInterval(() => this.schedule(), this.pollIntervalMs);
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    clearTimeout(this.debounceTimer);
    clearInterval(this.pollTimer);
    await this.reading;
  }

  private schedule(): void {
    const now = Date.now();
    this.burstStartedAt ??= now;
    const wait = Math.min(this.debounceMs, Math.max(0, this.burstStartedAt + this.maxDelayMs - now));
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.burstStartedAt = undefined;
      void this.reload();
    }, wait);
  }

  /** One read at a time; a change that arrives during a read causes exactly one more. */
  private reload(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.readAgain = false;
        await this.readOnce();
      } while (this.readAgain);
    })().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      const message = `cannot read ${this.file}: ${reason}`;
      // A file that stays missing is one failure, not one per periodic re-read.
      if (message !== this.lastReadError) this.store.fail(message);
      this.lastReadError = message;
      return;
    }
    this.lastReadError = undefined;
    this.store.apply(text);
  }
}
