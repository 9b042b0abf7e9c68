import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { auditKeyFrom } from '../http/audit-chain.js';
import { AuditVerifier } from '../http/audit-verify.js';
import type { LogReport, Problem, VerifyReport } from '../http/audit-verify.js';
import { EXIT, InputError, printJson, readFailure, UsageError } from './io.js';

export const AUDIT_USAGE = `flex-auth audit verify [--key-file PATH]... [--format text|json] FILE... | -

  Checks decision logs (the stdout of flex-auth serve; FILE - is standard input) line by
  line: per log_id (one per process start), every seq from 1 on must come once, in order,
  with a chain that follows from the line before. Other lines are skipped, so a collector's
  merged log of several pods is fine; a log rotated into several files is given in order,
  oldest first. With --key-file (repeat it for a rotated key), checkpoints are checked
  against the key and decision lines after a log's last checkpoint make it not intact.
  Exit 0 intact, 1 not intact (or no decision line found), 2 usage or unreadable input.`;

/** Lines of one input, in order; a line may span chunks. */
async function readLines(path: string, onLine: (line: string) => void): Promise<void> {
  const stream = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20 });
  stream.setEncoding('utf8');
  let rest = '';
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let start = 0;
      let newline: number;
      const text = rest + chunk;
      while ((newline = text.indexOf('\n', start)) >= 0) {
        onLine(text.slice(start, newline));
        start = newline + 1;
      }
      rest = text.slice(start);
    }
  } catch (error) {
    throw new InputError(`cannot read ${path}: ${readFailure(error)}`);
  }
  if (rest !== '') onLine(rest);
}

async function readKey(path: string): Promise<Buffer> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read key file ${path}: ${readFailure(error)}`);
  }
  try {
    return auditKeyFrom(text);
  } catch (error) {
    throw new InputError(`key file ${path} ${(error as Error).message}`);
  }
}

const PROBLEM_TEXT: Record<Problem['kind'], string> = {
  missing: 'missing',
  altered: 'altered (its chain does not follow from the line before and its content)',
  out_of_order: 'out of order (came after a later line)',
  duplicate: 'duplicated',
  checkpoint_invalid: 'checkpoint not made with the key',
  checkpoint_mismatch: 'checkpoint seals another chain (lines before it were changed)',
  checkpoint_out_of_order: 'checkpoint out of place (moved or duplicated)',
};

/** Enough to act on; `--format json` has them all. */
const SHOWN_PROBLEMS = 20;

function describeLog(log: LogReport, keyed: boolean): string {
  const seqs = log.first_seq === null ? 'no decision lines' : `${log.decision_lines} decision lines, seq ${log.first_seq}-${log.last_seq}`;
  const lines = [`log ${log.log_id}: ${log.intact ? 'intact' : 'NOT intact'} (${seqs}); intact through seq ${log.intact_through}`];
  for (const problem of log.problems.slice(0, SHOWN_PROBLEMS)) {
    const seq = problem.through === undefined ? `seq ${problem.seq}` : `seq ${problem.seq}-${problem.through}`;
    lines.push(`  ${seq}: ${PROBLEM_TEXT[problem.kind]}`);
  }
  if (log.problems.length > SHOWN_PROBLEMS) lines.push(`  ... and ${log.problems.length - SHOWN_PROBLEMS} more problems`);
  const sealed = keyed ? 'checked with the key' : 'not checked: no --key-file';
  lines.push(`  checkpoints: ${log.checkpoints} (${sealed}); covered through seq ${log.covered_through}`);
  if (log.not_covered) lines.push(`  seq ${log.not_covered.from}-${log.not_covered.through}: not covered by a checkpoint`);
  return lines.join('\n');
}

function describe(report: VerifyReport): string {
  const logs = report.logs.map((log) => describeLog(log, report.keyed));
  if (logs.length === 0) logs.push('no decision lines found');
  logs.push(`${report.intact ? 'intact' : 'NOT intact'}: ${report.logs.length} logs; ${report.skipped_lines} other lines skipped`);
  return `${logs.join('\n')}\n`;
}

async function verify(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      'key-file': { type: 'string', multiple: true },
      format: { type: 'string', default: 'text' },
    },
  });
  if (values.format !== 'text' && values.format !== 'json') throw new UsageError(`--format must be text or json (got ${values.format})`);
  if (positionals.length === 0) throw new UsageError('give at least one log FILE, or - for standard input');
  const keys = await Promise.all((values['key-file'] ?? []).map(readKey));
  const verifier = new AuditVerifier(keys);
  for (const path of positionals) await readLines(path, (line) => verifier.add(line));
  const report = verifier.report();
  if (values.format === 'json') printJson(report);
  else process.stdout.write(describe(report));
  return report.intact ? EXIT.ok : EXIT.negative;
}

export async function audit(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'verify') throw new UsageError(sub === undefined ? 'give a subcommand: verify' : `unknown subcommand ${sub} (the one subcommand is verify)`);
  return verify(rest);
}
