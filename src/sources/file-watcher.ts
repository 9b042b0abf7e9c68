import { watch } from 'node:fs';
import type { BigIntStats, FSWatcher } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.js';

export interface FileWatcherOptions {
  readonly logger: Logger;
  /** Quiet time after the last change before re-reading, so a burst of events is one read. */
  readonly debounceMs?: number;
  /** Longest a steady stream of events may postpone a re-read. */
  readonly maxDelayMs?: number;
  /** Safety re-read in case an event is missed; 0 turns it off. */
  readonly pollIntervalMs?: number;
  /** The clock the racy-stamp rule reads (see `settled`); tests move it. */
  readonly now?: () => number;
}

/**
 * How old a file's last change must be before its stamp is trusted to show the next one: file
 * timestamps are coarse (a kernel tick, a second or two on some network file systems), so a
 * second write within that grain may leave the stamp as it was. Git's "racy clean" rule.
 */
export const SETTLED_MS = 2000;

export interface FileHandlers {
  /**
   * Every successful read: the file's stamp changed, or was too recent to trust, so the bytes
   * may still be the same, and the caller decides what is new. Undecoded, so that a large file
   * can go to a worker thread without being decoded or copied on the event loop.
   */
  readonly onBytes: (bytes: Buffer) => void;
  /** A read that failed; a failure that lasts is reported once, not once per re-read. */
  readonly onError: (message: string) => void;
}

/**
 * Follows a file by watching its directory rather than the file: an editor's rename-save and
 * a Kubernetes ConfigMap or Secret volume's `..data` symlink swap replace the file's inode,
 * which a watch on the file itself would lose. Events that concern the file lead to a
 * debounced re-read of the path (following symlinks); others in the same directory (a log
 * file, say) are ignored, so a busy directory cannot hold a reload back.
 */
export class FileWatcher {
  readonly file: string;
  private readonly handlers: FileHandlers;
  private readonly logger: Logger;
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly pollIntervalMs: number;
  private watcher: FSWatcher | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  /** When the first event of the current burst arrived; undefined when no read is pending. */
  private burstStartedAt: number | undefined;
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private lastError: string | undefined;
  /** Names in the directory whose change means the file may have changed. */
  private readonly names: Set<string>;
  private readonly now: () => number;
  /** The stamp of the last bytes handed on, when trusted: the same stamp again needs no read. */
  private lastStamp: string | undefined;

  constructor(file: string, handlers: FileHandlers, options: FileWatcherOptions) {
    this.file = path.resolve(file);
    this.handlers = handlers;
    this.logger = options.logger;
    this.debounceMs = options.debounceMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 2000;
    this.pollIntervalMs = options.pollIntervalMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.names = new Set([path.basename(this.file)]);
  }

  /**
   * The file itself, its symlink target when that is in the same directory, and the `..data`
   * and `..<timestamp>` entries of a ConfigMap volume. An event without a name counts too.
   */
  private concerns(name: string | Buffer | null): boolean {
    if (name === null) return true;
    const text = name.toString();
    return this.names.has(text) || text.startsWith('..');
  }

  /** Starts watching and reads once; fails if the directory does not exist. */
  async start(): Promise<void> {
    const directory = path.dirname(this.file);
    const info = await stat(directory).catch(() => undefined);
    if (!info?.isDirectory()) throw new Error(`directory ${directory} does not exist`);
    this.watcher = watch(directory, (_event, name) => {
      if (this.concerns(name)) this.schedule();
    });
    this.watcher.on('error', (error) => this.logger.warn({ err: error, directory }, 'directory watch failed; relying on periodic re-reads'));
    await this.refresh();
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
      void this.refresh();
    }, wait);
  }

  /**
   * Reads the file now if its stamp moved. One read at a time; a change that arrives during a
   * read causes exactly one more.
   */
  refresh(): Promise<void> {
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

  /**
   * Reads the file unless its stamp (device, inode, size, modification and change times, taken
   * before the read) is the one of the last bytes handed on. Any write, rename or ConfigMap
   * symlink swap changes it, and the kernel sets the change time itself, so an unchanged stamp
   * means unchanged bytes: the periodic re-read of a large, unchanged registry costs a stat, not
   * a read, a hash and a worker thread that would take CPU from checks every minute.
   */
  private async readOnce(): Promise<void> {
    let bytes: Buffer;
    let info: BigIntStats;
    let stamp: string;
    try {
      info = await stat(this.file, { bigint: true });
      stamp = stampOf(info);
      if (stamp === this.lastStamp) return;
      bytes = await readFile(this.file);
    } catch (error) {
      // Stryker disable next-line all: a file that comes back has a new change time anyway.
      this.lastStamp = undefined;
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      const message = `cannot read ${this.file}: ${reason}`;
      if (message !== this.lastError) this.handlers.onError(message);
      this.lastError = message;
      return;
    }
    this.lastError = undefined;
    this.lastStamp = this.settled(info) ? stamp : undefined;
    const target = await realpath(this.file).catch(() => this.file);
    if (path.dirname(target) === path.dirname(this.file)) this.names.add(path.basename(target));
    this.handlers.onBytes(bytes);
  }

  /** Whether the file last changed long enough ago for its stamp to show its next change. */
  private settled(info: BigIntStats): boolean {
    return this.now() - Number(info.ctimeNs / 1_000_000n) >= SETTLED_MS;
  }
}

function stampOf(info: BigIntStats): string {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}
