import { EMBEDDED_REGISTRY } from '../paths.js';

export type SourceKind = 'file' | 'configmap' | 'embedded';

/** Where documents come from: `name` is `file:PATH`, `configmap:NS/NAME` or `embedded:PATH`. */
export interface SourceInfo {
  readonly kind: SourceKind;
  readonly name: string;
}

/** Where `serve` reads its registry from, as configured. */
export type RegistryLocation =
  | { readonly kind: 'embedded' }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'configmap'; readonly namespace: string; readonly name: string; readonly key: string };

/** The source's kind and its name as `/readyz` shows it. */
export function describeSource(location: RegistryLocation): SourceInfo {
  switch (location.kind) {
    case 'file':
      return { kind: 'file', name: `file:${location.path}` };
    case 'configmap':
      return { kind: 'configmap', name: `configmap:${location.namespace}/${location.name}` };
    case 'embedded':
      return { kind: 'embedded', name: `embedded:${EMBEDDED_REGISTRY}` };
  }
}

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
