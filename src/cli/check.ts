import { parseArgs } from 'node:util';
import { parseCheckRequestText } from '../core/check-request.js';
import { decide } from '../core/decide.js';
import { FlexAuthError, formatDetail } from '../core/errors.js';
import { loadRegistry } from '../registry/load.js';
import { EXIT, printJson, readInput, UsageError } from './io.js';

export const CHECK_USAGE = `flex-auth check --registry PATH [REQUEST.json | -] [--explain]

  Decides a check request offline, exactly as the server would (same decision_id), and
  prints the decision. Exit 0 allow, 1 deny, 2 bad input. The request defaults to stdin.`;

export async function check(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { registry: { type: 'string' }, explain: { type: 'boolean', default: false } },
  });
  if (!values.registry) throw new UsageError('--registry PATH is required');
  if (positionals.length > 1) throw new UsageError('give at most one request file (or - for stdin)');

  const registryText = await readInput(values.registry);
  const requestPath = positionals[0] ?? '-';
  // Someone who typed `check --registry X` at a prompt would otherwise see nothing happen.
  if (requestPath === '-' && process.stdin.isTTY) {
    process.stderr.write('flex-auth check: waiting for a check request (JSON) on stdin; end it with Ctrl-D\n');
  }
  const requestText = await readInput(requestPath);
  try {
    const registry = loadRegistry(registryText);
    const decision = decide(registry, parseCheckRequestText(requestText), { explain: values.explain });
    printJson(decision);
    return decision.allow ? EXIT.ok : EXIT.negative;
  } catch (error) {
    if (!(error instanceof FlexAuthError)) throw error;
    const where = error.code === 'invalid_registry' ? values.registry : 'request';
    process.stderr.write(`${where}: ${error.message}\n${error.details.map((d) => `  ${formatDetail(d)}\n`).join('')}`);
    return EXIT.badInput;
  }
}
