// StrykerJS's mocha runner (9.6.1, and 10.x too) requires mocha's CLI helpers by extension-less
// paths (`mocha/lib/cli/run-helpers`), which mocha 12 renamed to `.cjs`. Letting require try
// `.cjs` as well resolves them; loaded in Stryker's own process and in its test runners.
require.extensions['.cjs'] ??= require.extensions['.js'];
