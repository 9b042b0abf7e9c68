import { parseArgs } from 'node:util';
import type { CheckInput, CheckOutcome, FlexAuthClient } from '../client/flex-auth-client.js';
import { decide } from '../core/decide.js';
import { formatDetail, RegistryValidationError } from '../core/errors.js';
import type { CriticalOptions } from '../core/certificate.js';
import type { CertificateGrant } from '../core/types.js';
import { loadRegistry } from '../registry/load.js';
import type { CompiledRegistry } from '../registry/compiled-registry.js';
import { liveClient } from './live-client.js';
import { junitReport, textReport } from './test-report.js';
import type { Actual, CaseResult, FileResult } from './test-report.js';
import { EXIT, InputError, printJson, readInput, UsageError } from './io.js';
import { parseTestFile, TestFileError } from './test-file.js';
import type { Expectation, TestCase, TestFile } from './test-file.js';

export const TEST_USAGE = `flex-auth test FILE... [--registry PATH | --url URL] [--token-file PATH] [--timeout-ms 2000]
                [--format text|json|junit]

  Runs registry test files (flex-auth.tests/v1, JSON or YAML): each case is a check request
  and the decision expected of it ({allow, reason?, grant?}). Cases run offline against the
  registry the file names (a path relative to the test file), or --registry PATH instead, or
  against a live flex-auth with --url (and --token-file for its bearer token); the decision
  ids are the same either way. Text output shows each failure's expected and actual decision;
  --format json for tools, --format junit for CI. Exit 0 when every case holds, 1 when any
  fails, 2 on bad input (a test file or registry that is invalid or missing), naming the path,
  or when the --url server cannot be reached or refuses the caller (HTTP 401 or 403): then
  no case is reported.`;

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((value, i) => value === [...b].sort()[i]);
}

function sameOptions(a: CriticalOptions, b: CriticalOptions): boolean {
  return a.force_command === b.force_command &&
    (a.source_address === undefined ? b.source_address === undefined : b.source_address !== undefined && sameList(a.source_address, b.source_address));
}

function holds(expected: Expectation, actual: Actual): boolean {
  if (actual.allow !== expected.allow) return false;
  if (expected.reason !== undefined && actual.reason !== expected.reason) return false;
  const want = expected.grant;
  if (want === undefined) return true;
  const grant: CertificateGrant | undefined = 'grant' in actual ? actual.grant : undefined;
  if (grant === undefined) return false;
  if (want.ttl_seconds !== undefined && grant.ttl_seconds !== want.ttl_seconds) return false;
  if (want.principals !== undefined && !sameList(grant.principals, want.principals)) return false;
  if (want.cert_type !== undefined && grant.cert_type !== want.cert_type) return false;
  if (want.extensions !== undefined && !sameList(grant.extensions, want.extensions)) return false;
  return want.critical_options === undefined || sameOptions(grant.critical_options, want.critical_options);
}

/** Where the cases of a file are decided: the offline engine, or a live server. */
type Decider = (testCase: TestCase) => Promise<Actual>;

function offline(registry: CompiledRegistry): Decider {
  return async (testCase) => decide(registry, testCase.request);
}

/**
 * Why no case can be judged against `url`, or undefined when the answer is one to judge. A
 * server that cannot be reached, or that refuses the caller, says nothing about the registry:
 * reporting every case as failed would read as a policy regression in CI.
 */
function cannotAsk(outcome: Exclude<CheckOutcome, { allow: true }>, url: string, tokenFile: string | undefined): string | undefined {
  // The client's message for these already starts with the URL.
  if (outcome.reason === 'unreachable' || outcome.reason === 'timeout') return `cannot reach ${outcome.message}`;
  if (outcome.status === 401 || outcome.status === 403) {
    const hint = tokenFile === undefined ? 'give --token-file with a bearer token it accepts' : `it does not accept the token in ${tokenFile}`;
    return `not allowed by ${url}: ${outcome.message} (${hint})`;
  }
  return undefined;
}

function online(client: FlexAuthClient, url: string, tokenFile: string | undefined): Decider {
  return async (testCase) => {
    // The body goes as written; the server judges it exactly as the offline engine would.
    const outcome = await client.check(testCase.body as unknown as CheckInput);
    if (outcome.allow) return outcome.decision;
    const problem = cannotAsk(outcome, url, tokenFile);
    if (problem !== undefined) throw new InputError(problem);
    return outcome.decision ?? { allow: false, reason: outcome.reason, message: outcome.message };
  };
}

async function runFile(testFile: TestFile, target: string, decider: Decider): Promise<FileResult> {
  const cases: CaseResult[] = [];
  for (const testCase of testFile.cases) {
    const actual = await decider(testCase);
    cases.push({ name: testCase.name, passed: holds(testCase.expect, actual), expected: testCase.expect, actual });
  }
  return { file: testFile.file, target, cases };
}

async function loadFiles(paths: readonly string[]): Promise<TestFile[]> {
  const files: TestFile[] = [];
  const problems: string[] = [];
  for (const file of paths) {
    try {
      files.push(parseTestFile(file, await readInput(file)));
    } catch (error) {
      if (error instanceof TestFileError) problems.push(`${error.message}\n${error.details.map((d) => `  ${file}: ${formatDetail(d)}\n`).join('')}`);
      else if (error instanceof InputError) problems.push(`${error.message}\n`);
      else throw error;
    }
  }
  // Nothing runs unless every file is sound: a half-run suite would read as a partial pass.
  if (problems.length > 0) throw new InputError(problems.join('').trimEnd());
  return files;
}

/**
 * Loads a registry once per path however many files name it; a missing or invalid one is bad
 * input, reported with the test file that named it (`from`).
 */
function registryAt(registries: Map<string, Promise<CompiledRegistry>>, path: string, from: string): Promise<CompiledRegistry> {
  let loaded = registries.get(path);
  if (loaded === undefined) {
    loaded = readInput(path).then((source) => {
      try {
        return loadRegistry(source);
      } catch (error) {
        if (!(error instanceof RegistryValidationError)) throw error;
        throw new InputError(`${from}: registry ${path}: ${error.message}\n${error.details.map((d) => `  ${path}: ${formatDetail(d)}`).join('\n')}`);
      }
    }, (error: Error) => {
      throw new InputError(`${from}: registry: ${error.message}`);
    });
    registries.set(path, loaded);
  }
  return loaded;
}

export async function test(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      registry: { type: 'string' },
      url: { type: 'string' },
      'token-file': { type: 'string' },
      'timeout-ms': { type: 'string', default: '2000' },
      format: { type: 'string', default: 'text' },
    },
  });
  if (positionals.length === 0) throw new UsageError('give at least one test file');
  if (values.registry !== undefined && values.url !== undefined) throw new UsageError('give either --registry or --url, not both');
  if (!['text', 'json', 'junit'].includes(values.format)) throw new UsageError(`--format must be text, json or junit (got ${values.format})`);
  if (values['token-file'] !== undefined && values.url === undefined) throw new UsageError('--token-file goes with --url');

  const client = values.url === undefined ? undefined : await liveClient(values.url, values['timeout-ms'], values['token-file']);
  const files = await loadFiles(positionals);
  const results: FileResult[] = [];
  if (client !== undefined) {
    for (const file of files) results.push(await runFile(file, values.url!, online(client, values.url!, values['token-file'])));
  } else {
    const missing = files.filter((file) => values.registry === undefined && file.registry === undefined);
    if (missing.length > 0) {
      throw new InputError(missing.map((f) => `${f.file}: registry: names no registry; add "registry" to the file or give --registry or --url`).join('\n'));
    }
    const registries = new Map<string, Promise<CompiledRegistry>>();
    for (const file of files) {
      const path = values.registry ?? file.registry!;
      results.push(await runFile(file, `file:${path}`, offline(await registryAt(registries, path, values.registry === undefined ? file.file : '--registry'))));
    }
  }

  if (values.format === 'json') {
    const all = results.flatMap((r) => r.cases);
    printJson({ passed: all.filter((c) => c.passed).length, failed: all.filter((c) => !c.passed).length, files: results });
  } else {
    process.stdout.write(values.format === 'junit' ? junitReport(results) : textReport(results));
  }
  return results.every((r) => r.cases.every((c) => c.passed)) ? EXIT.ok : EXIT.negative;
}
