import { fileURLToPath } from 'node:url';

/** The package root: this file is compiled to dist/src/paths.js. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The registry `serve` uses when given no source, relative to the package root. */
export const EMBEDDED_REGISTRY = 'examples/ops-warden/production_registry_snapshot.json';
