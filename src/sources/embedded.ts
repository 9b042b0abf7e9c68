import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EMBEDDED_REGISTRY, PACKAGE_ROOT } from '../paths.js';
import type { RegistryStore, SourceInfo } from '../registry/store.js';
import type { RegistrySource } from './source.js';

export const EMBEDDED_SOURCE: SourceInfo = { kind: 'embedded', name: `embedded:${EMBEDDED_REGISTRY}` };

/** The example production registry shipped in the package: loaded once, never reloaded. */
export class EmbeddedSource implements RegistrySource {
  readonly info = EMBEDDED_SOURCE;
  private readonly store: RegistryStore;

  constructor(store: RegistryStore) {
    this.store = store;
  }

  async start(): Promise<void> {
    this.store.apply(await readFile(path.join(PACKAGE_ROOT, EMBEDDED_REGISTRY), 'utf8'));
  }

  async stop(): Promise<void> {}
}
