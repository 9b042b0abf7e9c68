/**
 * Runs the commands and requests that README.md, docs/ and the chart README show, against one
 * real `flex-auth serve` (embedded registry, as `npm start` serves it) on 127.0.0.1, and
 * compares what they print with the output the docs show. The convention is in
 * test/helpers/doc-blocks.ts. In short:
 *
 * - `sh`/`console` blocks run when every program in them can run here (flex-auth, curl and a
 *   few text tools); a block that needs anything else (kubectl, helm, docker, npm, ...) is not
 *   run; a synopsis (`[--flag]`) is not a command. `<!-- docs-test: skip (REASON) -->` keeps a
 *   runnable-looking block from running (a server, an in-cluster URL).
 * - `http://127.0.0.1:8080` and `--port 8080` become the test server's; `$FLEX_AUTH_URL` and
 *   `$FLEX_AUTH_DIAGNOSTIC_URL` are set to it, and `flex-auth` is the CLI of this checkout.
 * - Every `ts` block is type-checked against the package and run; every JSON block that is a
 *   registry document must validate.
 * Failures name the doc and line.
 */
import { chmod, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';
import { CLI, PACKAGE_ROOT } from '../helpers/paths.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCommand } from '../helpers/process.js';
import { runCli, startServer, stopAll } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { COMMAND_LANGS, consoleSteps, isSynopsis, outputMismatch, parseBlocks, programsOf, shellCommands } from '../helpers/doc-blocks.js';
import type { DocBlock } from '../helpers/doc-blocks.js';

const docFiles = async (): Promise<string[]> => [
  'README.md',
  ...(await readdir(path.join(PACKAGE_ROOT, 'docs'))).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`),
  'charts/flex-auth/README.md',
];

/** Programs that run here without a cluster and change nothing outside the scratch directory. */
const RUNNABLE = new Set(['flex-auth', 'curl', 'echo', 'printf', 'grep', 'head', 'tail', 'awk', 'sed', 'wc', 'sort']);

/** What the docs show as directories of a checkout, reachable from the scratch directory. */
const CHECKOUT_DIRS = ['examples', 'charts', 'deploy', 'bench'];

const COMMAND_TIMEOUT_MS = 10_000;

/** Whether the test runs a command block: not marked skip, not a synopsis, and only programs that run here. */
function runsHere(block: DocBlock): boolean {
  if (block.skip) return false;
  const commands = block.lang === 'console' ? consoleSteps(block.text).map((s) => s.command) : shellCommands(block.text);
  if (commands.length === 0 || commands.every(isSynopsis)) return false;
  return commands.flatMap(programsOf).every((program) => RUNNABLE.has(program));
}

describe('the commands and requests in the docs', function () {
  let server: ServerProcess;
  let scratch: string;
  let binDir: string;

  before(async () => {
    server = await startServer();
    scratch = await makeTempDir('flex-auth-docs-');
    binDir = path.join(scratch, 'bin');
    await mkdir(binDir);
    await writeFile(path.join(binDir, 'flex-auth'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
    await chmod(path.join(binDir, 'flex-auth'), 0o755);
  });

  after(async () => {
    await stopAll(server);
    await removeDir(scratch);
  });

  const local = (text: string): string =>
    text.replaceAll('127.0.0.1:8080', `127.0.0.1:${server.port}`).replace(/--port 8080\b/g, `--port ${server.port}`);

  /** A fresh directory per doc: the checkout's example directories, the doc's files, the package as `flex-auth`. */
  async function workDirFor(doc: string, blocks: DocBlock[]): Promise<string> {
    const dir = path.join(scratch, doc.replace(/[/.]/g, '-'));
    await mkdir(path.join(dir, 'node_modules', '@types'), { recursive: true });
    for (const name of CHECKOUT_DIRS) await symlink(path.join(PACKAGE_ROOT, name), path.join(dir, name));
    await symlink(PACKAGE_ROOT, path.join(dir, 'node_modules', 'flex-auth'));
    await symlink(path.join(PACKAGE_ROOT, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'));
    for (const block of blocks) if (block.file) await writeFile(path.join(dir, block.file), `${block.text}\n`);
    return dir;
  }

  function shell(script: string, cwd: string): Promise<{ code: number | null; stdout: string }> {
    return runCommand('bash', ['-euo', 'pipefail', '-c', `exec 2>&1\n${script}`], {
      cwd,
      // One port, as `npm start` serves: the diagnostic URL is the API's.
      env: { PATH: `${binDir}:${process.env.PATH ?? ''}`, FLEX_AUTH_URL: server.url, FLEX_AUTH_DIAGNOSTIC_URL: server.url },
      timeoutMs: COMMAND_TIMEOUT_MS,
    });
  }

  /** The problems with one runnable block, each prefixed with doc:line. */
  async function runBlock(doc: string, block: DocBlock, cwd: string): Promise<string[]> {
    const at = `${doc}:${block.line}`;
    if (block.lang === 'console') {
      const problems: string[] = [];
      for (const step of consoleSteps(block.text)) {
        const result = await shell(local(step.command), cwd);
        if (result.code !== step.exitCode) {
          problems.push(`${at}: \`${step.command}\` exited ${result.code}, the doc expects ${step.exitCode}:\n${result.stdout.slice(0, 1500)}`);
          continue;
        }
        const mismatch = outputMismatch(local(step.expectedOutput), result.stdout);
        if (mismatch) problems.push(`${at}: \`${step.command}\`: ${mismatch}`);
      }
      return problems;
    }
    const result = await shell(local(block.text), cwd);
    if (result.code !== 0) return [`${at}: exited ${result.code}:\n${result.stdout.slice(0, 1500)}`];
    const shown = block.next && !COMMAND_LANGS.has(block.next.lang) && !block.next.file ? block.next : undefined;
    const mismatch = shown ? outputMismatch(local(shown.text), result.stdout) : undefined;
    return mismatch ? [`${at}: the output shown at line ${shown!.line}: ${mismatch}`] : [];
  }

  /** Type-checks a TypeScript example against the package's own types, then runs it. */
  async function runTypeScript(doc: string, block: DocBlock, cwd: string): Promise<string[]> {
    const at = `${doc}:${block.line}`;
    const source = path.join(cwd, `example-${block.line}.mts`);
    await writeFile(source, block.text);
    const options: ts.CompilerOptions = {
      strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts'], noEmit: true, skipLibCheck: true, types: ['node'],
    };
    const diagnostics = ts.getPreEmitDiagnostics(ts.createProgram([source], options));
    if (diagnostics.length) {
      return [`${at}: does not type-check:\n${ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => cwd, getNewLine: () => '\n' })}`];
    }
    const js = ts.transpileModule(block.text, { fileName: source, compilerOptions: { ...options, noEmit: false } }).outputText;
    await writeFile(source.replace(/\.mts$/, '.mjs'), js);
    const result = await shell(`node ${JSON.stringify(source.replace(/\.mts$/, '.mjs'))}`, cwd);
    if (result.code !== 0) return [`${at}: exited ${result.code}:\n${result.stdout.slice(0, 1500)}`];
    const mismatch = block.next ? outputMismatch(local(block.next.text), result.stdout) : undefined;
    return mismatch ? [`${at}: the output shown at line ${block.next!.line}: ${mismatch}`] : [];
  }

  /** A registry document shown in a doc must be one that validates. */
  async function checkRegistry(doc: string, block: DocBlock, cwd: string): Promise<string[]> {
    let document: { schema?: unknown };
    try {
      document = JSON.parse(block.text) as { schema?: unknown };
    } catch {
      return [];
    }
    if (document?.schema !== 'flex-auth.registry/v1') return [];
    const file = path.join(cwd, `registry-${block.line}.json`);
    await writeFile(file, block.text);
    const result = await runCli(['validate', file]);
    return result.code === 0 ? [] : [`${doc}:${block.line}: the registry shown does not validate:\n${result.stdout}${result.stderr}`];
  }

  it('match what runs, in every doc', async function () {
    this.timeout(120_000);
    const problems: string[] = [];
    let ran = 0;
    for (const doc of await docFiles()) {
      const blocks = parseBlocks(await readFile(path.join(PACKAGE_ROOT, doc), 'utf8'));
      const cwd = await workDirFor(doc, blocks);
      for (const block of blocks) {
        if (block.lang === 'json' && !block.file) problems.push(...(await checkRegistry(doc, block, cwd)));
        if ((block.lang === 'ts' || block.lang === 'typescript') && !block.skip) {
          problems.push(...(await runTypeScript(doc, block, cwd)));
          ran++;
        }
        if (COMMAND_LANGS.has(block.lang) && runsHere(block)) {
          problems.push(...(await runBlock(doc, block, cwd)));
          ran++;
        }
      }
    }
    expect(problems, `\n${problems.join('\n\n')}\n`).to.deep.equal([]);
    expect(ran, 'blocks run').to.be.greaterThan(10);
  });

  it('docs/performance.md lists every flag of the benchmark runner with its default', async () => {
    const help = await runCommand(process.execPath, [path.join(PACKAGE_ROOT, 'bench', 'run.mjs'), '--help']);
    expect(help.code, help.stderr).to.equal(0);
    const flagsLine = /^Flags \(defaults\): (.*)$/m.exec(help.stdout)?.[1];
    expect(flagsLine, help.stdout).to.be.a('string');
    const doc = await readFile(path.join(PACKAGE_ROOT, 'docs', 'performance.md'), 'utf8');
    const flags = [...flagsLine!.matchAll(/--([\w-]+) ([^\s[\]]+)/g)].map((m) => `\`--${m[1]} ${m[2]}\``);
    const switches = [...flagsLine!.matchAll(/\[(--[\w-]+)\]/g)].map((m) => `\`${m[1]}\``);
    const missing = [...flags, ...switches].filter((flag) => !doc.includes(flag));
    expect(missing, 'flags of `node bench/run.mjs --help` not in docs/performance.md').to.deep.equal([]);
  });
});
