// Loaded in Stryker's own process and in its test runners (stryker.config.mjs).

// StrykerJS's mocha runner (9.6.1, and 10.x too) requires mocha's CLI helpers by extension-less
// paths (`mocha/lib/cli/run-helpers`), which mocha 12 renamed to `.cjs`. Letting require try
// `.cjs` as well resolves them.
require.extensions['.cjs'] ??= require.extensions['.js'];

// Per-test coverage credits code to the test that started last, so a fixture built in a `before`
// hook would be credited to the previous file's last test (or to no test at all): a mutant in the
// code that builds it would then run only against that unrelated test. While a `before all` hook
// runs in the coverage run, its coverage is collected apart and then credited to every test of
// the hook's suite, the tests that use the fixture.
const { Runner } = require('mocha');

const HOOK_TEST_ID = 'stryker-mocha-12: before all hook';
const testsOf = (suite) => [...suite.tests, ...suite.suites.flatMap(testsOf)];
const isBeforeAll = (hook) => (hook.originalTitle ?? hook.title).startsWith('"before all" hook');

const run = Runner.prototype.run;
Runner.prototype.run = function runCreditingBeforeAllHooks(...args) {
  let creditedBefore;
  this.on(Runner.constants.EVENT_HOOK_BEGIN, (hook) => {
    const stryker = globalThis.__stryker__;
    if (!stryker?.mutantCoverage || !isBeforeAll(hook)) return;
    creditedBefore = stryker.currentTestId;
    stryker.currentTestId = HOOK_TEST_ID;
  });
  this.on(Runner.constants.EVENT_HOOK_END, (hook) => {
    const stryker = globalThis.__stryker__;
    if (!stryker?.mutantCoverage || !isBeforeAll(hook)) return;
    const { perTest } = stryker.mutantCoverage;
    const covered = perTest[HOOK_TEST_ID] ?? {};
    delete perTest[HOOK_TEST_ID];
    for (const test of testsOf(hook.parent)) {
      const counts = (perTest[test.fullTitle()] ??= {});
      for (const [mutant, hits] of Object.entries(covered)) counts[mutant] = (counts[mutant] ?? 0) + hits;
    }
    stryker.currentTestId = creditedBefore;
  });
  return run.apply(this, args);
};
