import type { SourceInfo } from '../registry/store.js';

/**
 * Where registry documents come from. A source feeds every document it sees to the store
 * (`store.apply`), which validates and swaps; reporting failures that are not about a
 * document's content (`store.fail`) is the source's job too.
 */
export interface RegistrySource {
  readonly info: SourceInfo;
  /** Makes a first attempt to load (success or a recorded failure), then follows changes. */
  start(): Promise<void>;
  stop(): Promise<void>;
}
