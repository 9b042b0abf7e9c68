// Mutation testing of the decision core (`npm run test:mutation`): see the README's test table and test/mutation-equivalents.md.
// @ts-check
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

const mocha12Paths = new URL('./test/helpers/stryker-mocha-12.cjs', import.meta.url).pathname;
createRequire(import.meta.url)(mocha12Paths);

/** Kept outside the tree so CI can reuse the last run's results (`--incremental`). */
const cacheDir = process.env.FLEX_AUTH_STRYKER_CACHE ?? join(homedir(), '.cache', 'flex-auth', 'stryker');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  mutate: [
    'src/core/**/*.ts',
    'src/registry/**/*.ts',
    // Only the thread adapter, run in a worker where per-test coverage cannot see it: what it posts
    // is `workerMessages` (load-in-worker.ts, unit-tested in-process in worker-messages.test.ts),
    // and the real worker is exercised by test/unit/sources/reload-off-thread.test.ts.
    '!src/registry/load-worker.ts',
  ],
  // The tests run from tsc's output, so the sandbox is compiled once with every mutant switched in.
  buildCommand: 'npx tsc -p tsconfig.json',
  testRunner: 'mocha',
  mochaOptions: {
    spec: ['dist/test/unit/**/*.test.js'],
    // Timing ratios, run hundreds of times under mutation, would only cost time.
    ignore: ['dist/test/unit/**/*.complexity.test.js'],
    'no-config': true,
    // Empties module-level caches before each test: mutants share one process (see the file).
    require: ['dist/test/helpers/stryker-fresh-state.js'],
  },
  testRunnerNodeArgs: ['--require', mocha12Paths],
  coverageAnalysis: 'perTest',
  // A mutant in code run at import (a module constant) needs a fresh process per test run.
  ignoreStatic: true,
  // A mutant that hangs a test (a worker never answered, a loop never left) waits this long past
  // twice its tests' own time: 20 s cost minutes per run; 5 s leaves slow machines room enough.
  timeoutMS: 5000,
  timeoutFactor: 2,
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  incrementalFile: join(cacheDir, 'stryker-incremental.json'),
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 90, low: 80, break: null },
};
