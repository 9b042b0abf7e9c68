/** Where the package's files are, for suites that run the built CLI or read shipped files. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: this file is compiled to dist/test/helpers/paths.js. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const CLI = path.join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'index.js');
export const EXAMPLES = path.join(PACKAGE_ROOT, 'examples');
export const PRODUCTION_REGISTRY = path.join(EXAMPLES, 'ops-warden', 'production_registry_snapshot.json');
export const TEMPLATE_REGISTRY = path.join(EXAMPLES, 'ops-warden', 'registry_snapshot.json');
export const REQUESTS_DIR = path.join(EXAMPLES, 'requests');
export const RULES = path.join(PACKAGE_ROOT, 'deploy', 'prometheus', 'flex-auth-rules.yaml');
export const RULES_TEST = path.join(PACKAGE_ROOT, 'deploy', 'prometheus', 'flex-auth-rules.test.yaml');
export const DASHBOARD = path.join(PACKAGE_ROOT, 'deploy', 'grafana', 'flex-auth-dashboard.json');
