import { forgetParsedDurations } from '../../src/core/duration.js';

/**
 * Root hooks for the mutation run only (stryker.config.mjs, mochaOptions.require). Stryker runs
 * many mutants in one process without reloading modules, so a module-level cache would answer
 * from what an earlier mutant computed: the parsed-duration cache is emptied before every test.
 */
export const mochaHooks = {
  beforeEach(): void {
    forgetParsedDurations();
  },
};
