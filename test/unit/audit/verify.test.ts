import { expect } from 'chai';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { chainedLine, chainOf, splitChained } from '../../../src/http/audit-chain.js';
import { AuditVerifier, decisionTail } from '../../../src/http/audit-verify.js';
import { DecisionLog } from '../../../src/http/decision-log.js';
import { createLogger } from '../../../src/logger.js';
import type { VerifyReport } from '../../../src/http/audit-verify.js';
import { SAMPLE_RECORD, writeDecisionLog } from '../../helpers/audit-log.js';
import { principalText, requestIdText, v1Grant } from '../../helpers/grants.js';

const KEY = 'audit-key-for-tests-0123456789';
const WRONG_KEY = 'another-key-for-tests-987654321';

function verify(lines: readonly string[], keys: readonly string[] = [KEY]): VerifyReport {
  const verifier = new AuditVerifier(keys.map((key) => Buffer.from(key)));
  for (const line of lines) verifier.add(line);
  return verifier.report();
}

/** Lines a real log has besides decisions: operational JSON lines and the odd non-JSON line. */
const NOISE = [
  '{"level":"info","time":"2026-12-01T00:00:00.000Z","pid":1,"hostname":"h","msg":"registry loaded"}',
  'not json at all',
  '{"level":"warn","msg":"decision","note":"an older line without log_id"}',
  '',
];

/** Two processes' logs and noise, merged as a collector would: each log's own order kept. */
const mergedLogs = fc.record({
  sizes: fc.tuple(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 })),
  every: fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 })),
  picks: fc.array(fc.integer({ min: 0, max: 2 + NOISE.length }), { minLength: 200, maxLength: 200 }),
}).map(({ sizes, every, picks }) => {
  const logs = sizes.map((size, index) => writeDecisionLog(size, { key: KEY, everyDecisions: every[index]! }));
  const queues = logs.map((log) => [...log.lines]);
  const lines: string[] = [];
  let turn = 0;
  while (queues.some((queue) => queue.length > 0)) {
    // Past the picks, the two logs alternate, so the merge always ends.
    const pick = picks[turn] ?? turn % 2;
    turn++;
    if (pick >= 2) lines.push(NOISE[pick - 2] ?? NOISE[0]!);
    else lines.push(...(queues[pick]!.length > 0 ? queues[pick]!.splice(0, 1) : queues[1 - pick]!.splice(0, 1)));
  }
  return { logs, lines };
});

type Mutation =
  | { kind: 'delete decision' | 'delete last checkpoint' | 'duplicate'; target: number; at: number }
  | { kind: 'alter'; target: number; position: number; char: string }
  | { kind: 'swap'; target: number; other: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('delete decision' as const, 'delete last checkpoint' as const, 'duplicate' as const), target: fc.nat(), at: fc.nat() }),
  fc.record({ kind: fc.constant('alter' as const), target: fc.nat(), position: fc.nat(), char: fc.constantFrom('0', 'a', 'f', '"', '{', '}', ',', ':', ' ', 'é', '\\') }),
  fc.record({ kind: fc.constant('swap' as const), target: fc.nat(), other: fc.nat() }),
);

/** Indexes of the lines that belong to a chained log (its decisions and checkpoints). */
function chained(lines: readonly string[], msg?: 'decision' | 'checkpoint'): number[] {
  return lines.flatMap((line, index) => (line.includes('"log_id":"') && (msg === undefined || line.endsWith(`"msg":"${msg}"}`)) ? [index] : []));
}

/** The log and seq of a chained line as written, and whether it is a checkpoint. */
function whereIs(line: string): Affected {
  const { log_id: logId, seq, msg } = JSON.parse(line) as { log_id: string; seq: number; msg: string };
  return { logId, seq, checkpoint: msg === 'checkpoint' };
}

interface Affected {
  readonly logId: string;
  readonly seq: number;
  readonly checkpoint: boolean;
}

/**
 * Applies one change that a log must not survive unnoticed; describes it for the failure
 * message and, unless it only repeats a line unchanged, says the first line of which log it
 * touched.
 */
function mutate(original: readonly string[], change: Mutation): { lines: string[]; what: string; affected?: Affected } {
  const lines = [...original];
  const decisions = chained(lines, 'decision');
  switch (change.kind) {
    case 'delete decision': {
      const index = decisions[change.target % decisions.length]!;
      return { lines: lines.filter((_, i) => i !== index), what: `deleted ${lines[index]}`, affected: whereIs(lines[index]!) };
    }
    case 'delete last checkpoint': {
      const logId = /"log_id":"([0-9a-f]+)"/.exec(lines[decisions[change.target % decisions.length]!]!)![1]!;
      const index = chained(lines, 'checkpoint').filter((i) => lines[i]!.includes(logId)).at(-1)!;
      return { lines: lines.filter((_, i) => i !== index), what: `deleted ${lines[index]}`, affected: whereIs(lines[index]!) };
    }
    case 'duplicate': {
      const line = lines[decisions[change.target % decisions.length]!]!;
      lines.splice(change.at % (lines.length + 1), 0, line);
      return { lines, what: `duplicated ${line}` };
    }
    case 'alter': {
      const all = chained(lines);
      const index = all[change.target % all.length]!;
      const line = lines[index]!;
      // Any character of a decision line. A checkpoint's MAC covers its log_id, seq and chain,
      // not its time or pid; and a checkpoint made unreadable is one deleted, which loses
      // nothing while a later one seals the same lines. So: a hex digit of its log_id, chain or mac.
      const checkpoint = line.endsWith('"msg":"checkpoint"}');
      const positions = checkpoint
        ? [...line.matchAll(/"(?:log_id|chain|mac)":"([0-9a-f]+)"/g)].flatMap((match) => Array.from({ length: match[1]!.length }, (_, i) => match.index + match[0].length - 1 - match[1]!.length + i))
        : Array.from({ length: line.length }, (_, i) => i);
      const position = positions[change.position % positions.length]!;
      const wanted = checkpoint ? (/[0-9a-f]/.test(change.char) ? change.char : 'a') : change.char;
      const char = line[position] === wanted ? (wanted === '0' ? '1' : '0') : wanted;
      lines[index] = line.slice(0, position) + char + line.slice(position + 1);
      return { lines, what: `altered ${line} at ${position} into ${lines[index]}`, affected: whereIs(line) };
    }
    case 'swap': {
      // Two lines of the same log: the order of lines of different processes is the collector's.
      const all = chained(lines);
      const first = all[change.target % all.length]!;
      const logId = /"log_id":"([0-9a-f]+)"/.exec(lines[first]!)![1]!;
      const same = all.filter((i) => i !== first && lines[i]!.includes(`"log_id":"${logId}"`));
      fc.pre(same.length > 0);
      const second = same[change.other % same.length]!;
      [lines[first], lines[second]] = [lines[second]!, lines[first]!];
      const [a, b] = [whereIs(original[first]!), whereIs(original[second]!)];
      return { lines, what: `swapped ${original[first]} and ${original[second]}`, affected: a.seq <= b.seq ? a : b };
    }
  }
}

describe('a decision line\'s chain as the writer makes it (chainedLine)', () => {
  it('writes the content it hashed, with the chain member before the close: what the verifier splits and hashes again', () => {
    const hex = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });
    fc.assert(fc.property(hex, fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 30 }), (previous, content, close) => {
      const { chain, line } = chainedLine(previous, `{${content}`, close);
      expect(chain).to.equal(createHash('sha256').update(`${previous}{${content}${close}`, 'utf8').digest('hex'));
      expect(chain).to.equal(chainOf(previous, `{${content}${close}`));
      expect(line).to.equal(`{${content},"chain":"${chain}"${close}`);
    }), { numRuns: 300 });
  });
});

describe('flex-auth audit verify (src/http/audit-verify.ts)', () => {
  it('finds untouched logs intact, interleaved with each other and with other lines, with and without the key', () => {
    fc.assert(fc.property(mergedLogs, ({ logs, lines }) => {
      for (const keys of [[KEY], [], [WRONG_KEY, KEY]]) {
        const report = verify(lines, keys);
        expect(report.intact, JSON.stringify(report)).to.equal(true);
        const decisions = (log: { lines: string[] }) => log.lines.filter((line) => line.endsWith('"msg":"decision"}')).length;
        expect(report.logs.map((log) => [log.log_id, log.intact_through, log.covered_through]).sort()).to.deep.equal(
          logs.map((log) => [log.logId, decisions(log), decisions(log)]).sort(),
        );
      }
    }), { numRuns: 150 });
  });

  it('detects every single deleted, altered, duplicated or swapped line', () => {
    fc.assert(fc.property(mergedLogs, mutation, ({ lines }, change) => {
      const { lines: changed, what } = mutate(lines, change);
      const report = verify(changed);
      expect(report.intact, `${what}\n${JSON.stringify(report, null, 1)}`).to.equal(false);
    }), { numRuns: 2000 });
  });

  it('never claims a changed line as intact or sealed: both stop before the first line a change touched', () => {
    fc.assert(fc.property(mergedLogs, mutation, ({ lines }, change) => {
      const { lines: changed, what, affected } = mutate(lines, change);
      // A checkpoint deleted or made unreadable leaves every line as it was, sealed or not by the next one.
      fc.pre(affected !== undefined && !(affected.checkpoint && change.kind !== 'swap'));
      const log = verify(changed).logs.find((l) => l.log_id === affected!.logId)!;
      const report = `${what}\n${JSON.stringify(log, null, 1)}`;
      expect(log.covered_through, report).to.be.below(affected!.seq);
      expect(log.intact_through, report).to.be.below(affected!.seq);
    }), { numRuns: 2000 });
  });

  it('seals nothing with a checkpoint after a forged line that came late or right after a gap', () => {
    const { lines } = writeDecisionLog(6, { key: KEY, everyDecisions: 100 });
    const bySeq = (seq: number) => lines[seq - 1]!;
    const granted = (line: string) => line.replace('"request_id":"r-4"', '"request_id":"r-forged"');
    // Line 4 edited (its chain kept) and moved above line 3; line 3 deleted and line 4 edited.
    for (const forged of [[1, 2, 4, 3, 5, 6], [1, 2, 4, 5, 6]]) {
      const [log] = verify([...forged.map((seq) => (seq === 4 ? granted(bySeq(seq)) : bySeq(seq))), lines.at(-1)!]).logs;
      expect(log!.intact, JSON.stringify(log)).to.equal(false);
      expect(log!).to.deep.include({ intact_through: 2, covered_through: 0, not_covered: { from: 1, through: 6 } });
    }
  });

  it('shows nothing past the last good checkpoint intact when a later one seals another chain (lines edited and chained again)', () => {
    const { lines } = writeDecisionLog(8, { key: KEY, everyDecisions: 4 });
    // Line 6 edited and every chain from it on recomputed: each line checks, the checkpoint at 8 does not.
    let previous = '';
    const rechained = lines.map((line) => {
      const split = splitChained(line);
      if (!line.endsWith('"msg":"decision"}') || split === undefined) return line;
      const seq = whereIs(line).seq;
      if (seq < 6) {
        previous = split.chain;
        return line;
      }
      const content = seq === 6 ? split.content.replace('"request_id":"r-6"', '"request_id":"r-edited"') : split.content;
      previous = chainOf(previous, content);
      return line.replace(split.chain, previous).replace('"request_id":"r-6"', '"request_id":"r-edited"');
    });
    const [log] = verify(rechained).logs;
    expect(log!.problems).to.deep.equal([{ kind: 'checkpoint_mismatch', seq: 8 }]);
    expect(log!).to.deep.include({ intact_through: 4, covered_through: 4 });
  });

  it('fails every checkpoint made with another key', () => {
    fc.assert(fc.property(mergedLogs, ({ lines }) => {
      const report = verify(lines, [WRONG_KEY]);
      expect(report.intact).to.equal(false);
      for (const log of report.logs) {
        expect(log.covered_through).to.equal(0);
        expect(log.problems.filter((problem) => problem.kind === 'checkpoint_invalid')).to.have.length(log.checkpoints);
      }
    }), { numRuns: 100 });
  });

  it('names the seq of a deleted line and of an edited line', () => {
    const { lines } = writeDecisionLog(10, { key: KEY, everyDecisions: 4 });
    const changed = lines.filter((line) => !line.includes('"request_id":"r-3"')).map((line) => line.replace('"request_id":"r-7"', '"request_id":"r-x"'));
    const [log] = verify(changed).logs;
    expect(log!.problems).to.deep.equal([{ kind: 'missing', seq: 3 }, { kind: 'altered', seq: 7 }]);
    expect(log!.intact_through).to.equal(2);
  });

  it('tells lines that came late from duplicates, however many gaps there are', () => {
    const { lines } = writeDecisionLog(10, { key: KEY, everyDecisions: 100 });
    const bySeq = (seq: number) => lines[seq - 1]!;
    const moved = [1, 2, 4, 6, 7, 8, 3, 9, 5, 10].map(bySeq);
    expect(verify([...moved, lines.at(-1)!]).logs[0]!.problems).to.deep.equal([{ kind: 'out_of_order', seq: 3 }, { kind: 'out_of_order', seq: 5 }]);
    const repeated = [1, 2, 3, 4, 2, 5, 6, 7, 8, 9, 10].map(bySeq);
    expect(verify([...repeated, lines.at(-1)!]).logs[0]!.problems).to.deep.equal([{ kind: 'duplicate', seq: 2 }]);
  });

  it('follows a log split into rotated files given in order, and reports the lines after the last checkpoint as not covered', () => {
    const { lines } = writeDecisionLog(10, { key: KEY, everyDecisions: 4 });
    // A process still running: no closing checkpoint after seq 8 yet.
    const running = lines.filter((line) => !(line.includes('"seq":10,') && line.endsWith('"msg":"checkpoint"}')));
    const keyed = verify(running).logs[0]!;
    expect(keyed).to.deep.include({ intact: false, intact_through: 10, covered_through: 8, not_covered: { from: 9, through: 10 }, problems: [] });
    // Without a key nothing is proven by checkpoints, so the uncovered tail alone does not fail.
    expect(verify(running, []).intact).to.equal(true);
  });

  it('reports a log whose first lines are gone as missing from seq 1', () => {
    const { lines } = writeDecisionLog(6, { key: KEY, everyDecisions: 3 });
    const [log] = verify(lines.slice(4)).logs;
    expect(log!.problems).to.deep.equal([{ kind: 'missing', seq: 1, through: 3 }]);
  });

  it('reads a line behind a container runtime prefix (CRI log files) as the line itself', () => {
    const { lines } = writeDecisionLog(3, { key: KEY, everyDecisions: 2 });
    const report = verify(lines.map((line) => `2026-12-01T00:00:00.000000000Z stdout F ${line}`));
    expect(report.intact).to.equal(true);
  });

  it('finds nothing intact in input without decision lines', () => {
    const report = verify(NOISE);
    expect(report).to.deep.include({ intact: false, logs: [], skipped_lines: NOISE.length });
  });

  describe('the fast path that reads a decision line\'s last members (twin of JSON.parse)', () => {
    // Strings with quotes, escapes, controls, the members' own names, and beyond ASCII.
    const tricky = fc.constantFrom('a', '"', '\\', ',', ':', '}', '{', '"seq":7', ',"log_id":"ab"', ',"chain":"', '"msg":"decision"}', '\n', '\u0000', 'é', '\u2028', '\ud800', '😀');
    const text = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: tricky, maxLength: 12 }));
    // The request id and principals are of their forms (the writer puts them unquoted, plain by
    // construction); the subject and the caller carry anything.
    const line = fc.record({ requestId: requestIdText, subject: text, caller: text, principals: fc.array(principalText, { maxLength: 3 }) }).map((fields) => {
      let written = '';
      const log = new DecisionLog(createLogger({ destination: { write: (chunk: string) => { written += chunk; } } }), (commit) => commit());
      log.append({
        ...SAMPLE_RECORD, requestId: fields.requestId, caller: fields.caller,
        request: { ...SAMPLE_RECORD.request, subject: { id: fields.subject } },
        decision: { ...SAMPLE_RECORD.decision, grant: v1Grant(60, fields.principals) },
      }, () => {});
      return written.slice(0, -1);
    });
    const edit = fc.option(fc.record({ position: fc.nat(), char: fc.constantFrom('0', '9', 'a', '"', '}', ',', ' ', '\\') }));

    it('reads every line the writer makes, and agrees with JSON.parse on every line JSON.parse reads, edited or not', () => {
      fc.assert(fc.property(line, edit, (written, change) => {
        if (change === null) expect(decisionTail(written), written).to.not.equal(undefined);
        const at = change ? change.position % written.length : 0;
        const input = change ? written.slice(0, at) + change.char + written.slice(at + 1) : written;
        const fast = decisionTail(input);
        let parsed: Record<string, unknown> | undefined;
        try {
          parsed = JSON.parse(input) as Record<string, unknown>;
        } catch {
          return;
        }
        if (fast) expect({ seq: parsed.seq, logId: parsed.log_id, chain: parsed.chain, msg: parsed.msg }, input).to.deep.equal({ ...fast, msg: 'decision' });
      }), { numRuns: 3000 });
    });
  });
});

