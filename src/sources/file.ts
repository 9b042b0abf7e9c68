import type { RegistryStore } from '../registry/store.js';
import { FileWatcher } from './file-watcher.js';
import type { FileWatcherOptions } from './file-watcher.js';
import { describeSource } from './source.js';
import type { RegistrySource, SourceInfo } from './source.js';

export type FileSourceOptions = FileWatcherOptions;

/**
 * A registry file, followed by a directory watch (see FileWatcher): in-place writes,
 * rename-saves and ConfigMap volume symlink swaps all reload. The store ignores bytes it has
 * already seen, so the periodic safety re-read of an unchanged file costs one read.
 */
export class FileSource implements RegistrySource {
  readonly info: SourceInfo;
  private readonly watcher: FileWatcher;

  constructor(file: string, store: RegistryStore, options: FileSourceOptions) {
    this.info = describeSource({ kind: 'file', path: file });
    this.watcher = new FileWatcher(file, { onBytes: (bytes) => void store.applyAsync(bytes), onError: (message) => store.fail(message) }, options);
  }

  async start(): Promise<void> {
    await this.watcher.start().catch((error: Error) => {
      throw new Error(`registry ${error.message}`);
    });
  }

  stop(): Promise<void> {
    return this.watcher.stop();
  }
}
