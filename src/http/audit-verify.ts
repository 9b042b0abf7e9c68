import { chainOf, CHAIN_START, checkpointMac, splitChained } from './audit-chain.js';

/**
 * Checks decision logs against their chain and checkpoints (contract section 15), one line at
 * a time in the order given, so a log of any size is read once and held in memory only as a
 * few values per process. Lines of several processes may be interleaved (each has its own
 * `log_id`); lines of other kinds are skipped.
 */

export type ProblemKind =
  /** No line with this seq (or range) came. */
  | 'missing'
  /** The line's chain does not follow from the line before and its own content. */
  | 'altered'
  /** The line came after a later one of the same log. */
  | 'out_of_order'
  /** A second line with this seq. */
  | 'duplicate'
  /** The checkpoint's MAC is not the key's (wrong key, or the checkpoint was forged or edited). */
  | 'checkpoint_invalid'
  /** The checkpoint seals another chain than the lines have: lines before it were changed and chained again. */
  | 'checkpoint_mismatch'
  /** The checkpoint is not right after the line it seals (moved or duplicated). */
  | 'checkpoint_out_of_order';

export interface Problem {
  readonly kind: ProblemKind;
  readonly seq: number;
  /** The last seq of a missing range, when it is more than one line. */
  readonly through?: number;
}

export interface LogReport {
  readonly log_id: string;
  readonly intact: boolean;
  readonly decision_lines: number;
  readonly first_seq: number | null;
  readonly last_seq: number | null;
  /**
   * Every seq from 1 through this one came, in order, and unchanged. A checkpoint that seals
   * another chain says a line before it changed but not which: then only what an earlier
   * checkpoint sealed counts.
   */
  readonly intact_through: number;
  readonly problems: readonly Problem[];
  readonly checkpoints: number;
  /**
   * The last seq a good checkpoint seals (0 when none): every line through it came, in order,
   * each checked against the chain. A checkpoint after any problem extends it no further, since a
   * line that came late, or right after a gap, could not be checked.
   */
  readonly covered_through: number;
  /** Decision lines after the last good checkpoint: nothing proves they are all there. */
  readonly not_covered: { readonly from: number; readonly through: number } | null;
}

export interface VerifyReport {
  readonly intact: boolean;
  /** Whether checkpoint MACs were checked (a key was given). */
  readonly keyed: boolean;
  readonly logs: readonly LogReport[];
  /** Lines that are not decision or checkpoint lines of a chained log. */
  readonly skipped_lines: number;
}

/** A process's log as read so far. */
interface LogState {
  readonly logId: string;
  lines: number;
  firstSeq: number | null;
  maxSeq: number;
  /** The seq the next line should have. */
  nextSeq: number;
  /** The chain of seq nextSeq - 1, or undefined after a gap (the next line cannot be checked). */
  previousChain: string | undefined;
  /** Ranges of seqs skipped over; one that comes late is taken out again, as out of order. */
  missing: [number, number][];
  problems: Problem[];
  checkpoints: number;
  coveredThrough: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** How every decision line the writer makes ends: its last members, at the top level (`"decision"}` closes the line). */
const DECISION_TAIL = /,"seq":([1-9][0-9]{0,14}),"log_id":"([0-9a-f]{1,64})","chain":"([0-9a-f]{64})","msg":"decision"\}$/y;

export interface DecisionFields {
  readonly seq: number;
  readonly logId: string;
  readonly chain: string;
}

/**
 * The fast path: a decision line's seq, log_id and chain read from the members the writer puts
 * last, without parsing the whole line (JSON.parse was most of the time `verify` took). Undefined
 * when the line does not end that way; it then goes the reference path, JSON.parse. A twin
 * property test checks both agree on every line JSON.parse reads. A line that is not JSON at all
 * but ends that way is still checked against the chain, so damage to it is found all the same.
 */
export function decisionTail(line: string): DecisionFields | undefined {
  DECISION_TAIL.lastIndex = line.lastIndexOf(',"seq":');
  const match = DECISION_TAIL.lastIndex >= 0 ? DECISION_TAIL.exec(line) : null;
  return match ? { seq: Number(match[1]), logId: match[2]!, chain: match[3]! } : undefined;
}

function isSeq(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}

/**
 * Takes `seq` out of the missing ranges (in ascending order, as gaps are found in the order of
 * seq); true if it was in one. A binary search, so a log full of gaps still reads in n log n.
 */
function takeMissing(missing: [number, number][], seq: number): boolean {
  let low = 0;
  let high = missing.length - 1;
  let index = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const [from, through] = missing[middle]!;
    if (seq < from) high = middle - 1;
    else if (seq > through) low = middle + 1;
    else {
      index = middle;
      break;
    }
  }
  if (index < 0) return false;
  const [from, through] = missing[index]!;
  const rest: [number, number][] = [];
  if (from < seq) rest.push([from, seq - 1]);
  if (seq < through) rest.push([seq + 1, through]);
  missing.splice(index, 1, ...rest);
  return true;
}

export class AuditVerifier {
  private readonly logs = new Map<string, LogState>();
  private skipped = 0;

  /** With keys, checkpoints are checked against them (any one may have made a checkpoint: keys rotate). */
  constructor(private readonly keys: readonly Buffer[] = []) {}

  /** One line of input, without its newline. Text before the first `{` (a container runtime's prefix) is ignored. */
  add(raw: string): void {
    const start = raw.indexOf('{');
    // Cheap refusal first: most lines of a busy log are decisions, but not all lines are.
    if (start < 0 || !raw.includes('"log_id":"', start)) return void this.skipped++;
    const line = start === 0 ? raw : raw.slice(start);
    const fast = decisionTail(line);
    if (fast) return this.decision(this.state(fast.logId), fast.seq, line, fast.chain);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return void this.skipped++;
    }
    const { msg, log_id: logId, seq } = parsed;
    if (typeof logId !== 'string' || !isSeq(seq)) return void this.skipped++;
    if (msg === 'decision') this.decision(this.state(logId), seq, line, parsed.chain);
    else if (msg === 'checkpoint' && typeof parsed.chain === 'string' && HEX64.test(parsed.chain) && typeof parsed.mac === 'string') {
      this.checkpoint(this.state(logId), seq, parsed.chain, parsed.mac);
    } else this.skipped++;
  }

  private state(logId: string): LogState {
    let state = this.logs.get(logId);
    if (!state) {
      state = { logId, lines: 0, firstSeq: null, maxSeq: 0, nextSeq: 1, previousChain: CHAIN_START, missing: [], problems: [], checkpoints: 0, coveredThrough: 0 };
      this.logs.set(logId, state);
    }
    return state;
  }

  /** Seqs from `nextSeq` up to `seq` - 1 did not come: remember them, and the line after cannot be checked. */
  private skipTo(state: LogState, seq: number): void {
    if (seq > state.nextSeq) state.missing.push([state.nextSeq, seq - 1]);
  }

  private decision(state: LogState, seq: number, line: string, parsedChain: unknown): void {
    state.lines++;
    state.firstSeq ??= seq;
    const split = splitChained(line);
    // The chain member the text shows must be the one JSON sees: no second member hides it.
    const chain = split && split.chain === parsedChain ? split.chain : undefined;
    if (seq < state.nextSeq) {
      state.problems.push({ kind: takeMissing(state.missing, seq) ? 'out_of_order' : 'duplicate', seq });
      return;
    }
    // After a gap there is no chain to check the line against; it starts the chain again.
    const checkable = seq === state.nextSeq && state.previousChain !== undefined;
    this.skipTo(state, seq);
    if (chain === undefined || (checkable && chainOf(state.previousChain!, split!.content) !== chain)) {
      state.problems.push({ kind: 'altered', seq });
    }
    state.previousChain = chain;
    state.nextSeq = seq + 1;
    state.maxSeq = seq;
  }

  private checkpoint(state: LogState, seq: number, chain: string, mac: string): void {
    state.checkpoints++;
    if (this.keys.length > 0 && !this.keys.some((key) => checkpointMac(key, state.logId, seq, chain) === mac)) {
      state.problems.push({ kind: 'checkpoint_invalid', seq });
      return;
    }
    const last = state.nextSeq - 1;
    if (seq < last) {
      state.problems.push({ kind: 'checkpoint_out_of_order', seq });
      return;
    }
    if (seq > last) {
      // Lines it seals never came; from here on, the checkpoint's chain is the one to follow.
      this.skipTo(state, seq + 1);
      state.nextSeq = seq + 1;
      state.maxSeq = Math.max(state.maxSeq, seq);
    } else if (chain !== state.previousChain) {
      state.problems.push({ kind: 'checkpoint_mismatch', seq });
    } else if (state.problems.length === 0 && state.missing.length === 0) {
      state.coveredThrough = seq;
    }
    state.previousChain = chain;
  }

  report(): VerifyReport {
    const keyed = this.keys.length > 0;
    const logs = [...this.logs.values()].map((state): LogReport => {
      const problems = [
        ...state.missing.map(([from, through]): Problem => (from === through ? { kind: 'missing', seq: from } : { kind: 'missing', seq: from, through })),
        ...state.problems,
      ].sort((a, b) => a.seq - b.seq);
      const lastSeq = state.lines > 0 ? state.maxSeq : null;
      let intactThrough = problems.length === 0 ? state.maxSeq : problems[0]!.seq - 1;
      if (problems.some((problem) => problem.kind === 'checkpoint_mismatch')) intactThrough = Math.min(intactThrough, state.coveredThrough);
      const notCovered = state.maxSeq > state.coveredThrough ? { from: state.coveredThrough + 1, through: state.maxSeq } : null;
      return {
        log_id: state.logId,
        intact: problems.length === 0 && (!keyed || notCovered === null),
        decision_lines: state.lines,
        first_seq: state.firstSeq,
        last_seq: lastSeq,
        intact_through: intactThrough,
        problems,
        checkpoints: state.checkpoints,
        covered_through: state.coveredThrough,
        not_covered: notCovered,
      };
    });
    return { intact: logs.length > 0 && logs.every((log) => log.intact), keyed, logs, skipped_lines: this.skipped };
  }
}
