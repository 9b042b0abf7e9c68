// The layers of docs/architecture.md, checked on every `npm test` (`npm run check:deps`).
//
//   cli, index.ts -> main.ts -> {http, sources} -> registry -> core
//
// The main tier is src/main.ts and any other module directly in src/ that wires layers together
// (say, a file follower that feeds http from sources). Beside the chain: logger.ts and paths.ts
// are leaves (they import nothing of the project) and metrics.ts sees core and registry only,
// so http, sources, main and cli may all use the three; client/ is the callers' SDK and sees
// core only. Type-only imports count (a type cycle still ties two modules together), and so
// does `export ... from`.
const LEAF_UTILITIES = '^src/(logger|paths)[.]ts$';
const METRICS = '^src/metrics[.]ts$';
const MAIN_TIER = '^src/(?!(index|logger|metrics|paths)[.]ts$)[^/]+[.]ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'Modules must depend one way; type-only imports included. Move the shared type down a layer.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-imports-nothing-above',
      comment: 'src/core is pure decision logic: it imports nothing else of the project.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'core-has-no-io',
      comment: 'src/core knows nothing of HTTP, files, Kubernetes, metrics or logging.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: {
        path: [
          '^(node:)?(fs|fs/promises|http|https|http2|net|child_process)$',
          'node_modules/(koa|@koa/[^/]+|@kubernetes/[^/]+|prom-client|pino)/',
        ],
      },
    },
    {
      name: 'registry-imports-only-core',
      comment: 'src/registry may import src/core and nothing else of the project.',
      severity: 'error',
      from: { path: '^src/registry/' },
      to: { path: '^src/', pathNot: '^src/(registry|core)/' },
    },
    {
      name: 'http-and-sources-import-registry-core-and-utilities',
      comment: 'src/http and src/sources sit below main.ts: they may import registry, core, logger, metrics and paths.',
      severity: 'error',
      from: { path: '^src/(http|sources)/' },
      to: {
        path: '^src/',
        pathNot: ['^src/(http|sources|registry|core)/', LEAF_UTILITIES, METRICS],
      },
    },
    {
      name: 'http-and-sources-are-siblings',
      comment: 'src/http and src/sources do not import each other; main.ts wires them together.',
      severity: 'error',
      from: { path: '^src/(http|sources)/' },
      to: { path: '^src/(http|sources)/', pathNot: '^src/$1/' },
    },
    {
      name: 'main-imports-only-lower-layers',
      comment: 'src/main.ts (and any wiring module beside it) imports http, sources, registry, core, logger, metrics and paths; cli and index.ts sit above it.',
      severity: 'error',
      from: { path: MAIN_TIER },
      to: { path: '^src/', pathNot: ['^src/(http|sources|registry|core)/', MAIN_TIER, LEAF_UTILITIES, METRICS] },
    },
    {
      name: 'leaf-utilities-import-nothing',
      comment: 'src/logger.ts and src/paths.ts are used by every layer above core, so they import nothing of the project.',
      severity: 'error',
      from: { path: LEAF_UTILITIES },
      to: { path: '^src/' },
    },
    {
      name: 'metrics-imports-only-registry-and-core',
      comment: 'src/metrics.ts is used by http and main, so it may import registry and core only.',
      severity: 'error',
      from: { path: METRICS },
      to: { path: '^src/', pathNot: '^src/(registry|core)/' },
    },
    {
      name: 'client-imports-only-core',
      comment: "src/client is the callers' SDK: it may import src/core (the contract's types) and nothing else.",
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: '^src/(client|core)/' },
    },
    {
      name: 'entry-points-are-on-top',
      comment: 'Nothing imports src/index.ts (the package entry for callers, the CLI included), and only src/cli imports src/cli.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: ['^src/index[.]ts$', '^src/cli/'], pathNot: '^src/cli/' },
    },
    {
      name: 'src-imports-no-test-code',
      comment: 'Production code never imports test code or test-only packages.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    {
      name: 'src-uses-no-dev-dependencies',
      comment: 'A devDependency is not installed in production; src must not import one (type-only imports of @types are fine).',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'helpers-import-no-suite',
      comment: 'Shared test code lives in test/helpers and test/fixtures and never imports a suite.',
      severity: 'error',
      from: { path: '^test/(helpers|fixtures)/' },
      to: { path: '^test/', pathNot: '^test/(helpers|fixtures)/' },
    },
    {
      name: 'no-test-file-imported',
      comment: 'A *.test.ts file is run by mocha, never imported; move what it shares to test/helpers.',
      severity: 'error',
      from: {},
      to: { path: '[.]test[.]ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
