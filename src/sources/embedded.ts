import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EMBEDDED_REGISTRY, PACKAGE_ROOT } from '../paths.js';
import type { RegistryStore } from '../registry/store.js';
import { describeSource } from './source.js';
import type { RegistrySource } from './source.js';

/** The example production registry shipped in the package: loaded once, never reloaded. */
export class EmbeddedSource implements RegistrySource {
  readonly info = describeSource({ kind: 'embedded' });
  private readonly store: RegistryStore;

  constructor(store: RegistryStore) {
    this.store = store;
  }

  async start(): Promise<void> {
    this.store.apply(await readFile(path.join(PACKAGE_ROOT, EMBEDDED_REGISTRY), 'utf8'));
  }

  async stop(): Promise<void> {}
}
