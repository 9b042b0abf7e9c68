import { jsonString as quote, plainJsonList as plainList } from '../core/canonical-json.js';
import type { CertificateGrant, CheckRequest } from '../core/types.js';
import { infoLines } from '../logger.js';
import type { InfoLines, Logger } from '../logger.js';
import { chainedLine, CHAIN_START, checkpointMac, newLogId } from './audit-chain.js';

/** Key names only: metadata values are the caller's and may be anything, secrets included. */
const MAX_METADATA_KEYS = 32;
/** Warnings name caller-chosen keys: bounded like metadata keys, so a request cannot flood the log. */
const MAX_WARNINGS = 16;
const MAX_WARNING_LENGTH = 200;

export interface DecisionRecord {
  readonly requestId: string;
  readonly request: CheckRequest;
  /** A decision, or the fail-closed `registry_unavailable` answer that has no id or revision. */
  readonly decision: {
    readonly allow: boolean;
    readonly reason: string;
    /** Sent to the caller, never logged. */
    readonly message?: string;
    readonly decision_id?: string;
    readonly registry_revision?: string;
    readonly policy?: string;
    /** Logged on allow: what the caller may sign. */
    readonly grant?: CertificateGrant;
  };
  readonly durationMs: number;
  /** Who asked: a bearer token's name, or `anonymous` when authentication is off; never a token. */
  readonly caller: string;
  /** What an AuthZEN request carried that flex-auth does not read (a likely typo), as the answer names it. */
  readonly warnings?: readonly string[];
}

/** The JSON of a string plain by construction (canonical-json.ts), or null. */
function plainOrNull(value: string | undefined): string {
  return value === undefined ? 'null' : `"${value}"`;
}

function quoteList(values: readonly string[]): string {
  let list = '';
  for (let i = 0; i < values.length; i++) list += (i === 0 ? '' : ',') + quote(values[i]!);
  return `[${list}]`;
}

/**
 * `JSON.stringify(grant)` for the grant `decide` builds (members in its order), spelled out for
 * the reply and the log line alike, which both write it on every allow. The twin tests of
 * `decisionJson` and of the log line check it against JSON.stringify and pino.
 */
export function grantJson(grant: CertificateGrant): string {
  const { force_command: command, source_address: addresses } = grant.critical_options;
  const options = command === undefined
    ? (addresses === undefined ? '{}' : `{"source_address":${quoteList(addresses)}}`)
    : `{"force_command":${quote(command)}${addresses === undefined ? '' : `,"source_address":${quoteList(addresses)}`}}`;
  // Principals, the type, extensions and the key id are plain by construction (canonical-json.ts).
  return `{"ttl_seconds":${grant.ttl_seconds},"principals":${plainList(grant.principals)},"cert_type":"${grant.cert_type}",` +
    `"extensions":${plainList(grant.extensions)},"critical_options":${options},"key_id":"${grant.key_id}"}`;
}

/**
 * `${Math.round(ms * 1000) / 1000}`, milliseconds to the microsecond, written with toFixed: the
 * same text, but not through V8's number-to-string cache (see `append`).
 */
export function millisText(ms: number): string {
  const rounded = Math.round(ms * 1000) / 1000;
  // Below 1e12 a double is close enough to its three decimals for toFixed(3) to write them.
  if (!(Math.abs(rounded) < 1e12)) return `${rounded}`;
  const text = rounded.toFixed(3);
  let end = text.length;
  while (text.charCodeAt(end - 1) === 0x30 /* 0 */) end--;
  if (text.charCodeAt(end - 1) === 0x2e /* . */) end--;
  return text.slice(0, end);
}

/**
 * The fields of a decision's log line (contract section 8), spelled out: their shape is fixed
 * and this runs on every check. A property test checks the line against the one pino writes.
 */
function decisionFields({ requestId, request, decision, durationMs, caller, warnings }: DecisionRecord): string {
  const { resource } = request;
  const metadata = request.context.metadata;
  const keys = metadata ? `,"metadata_keys":${JSON.stringify(Object.keys(metadata).slice(0, MAX_METADATA_KEYS).map((key) => key.slice(0, 64)))}` : '';
  const grant = decision.allow && decision.grant ? `,"grant":${grantJson(decision.grant)}` : '';
  const warned = warnings !== undefined && warnings.length > 0
    ? `,"warnings":${JSON.stringify(warnings.slice(0, MAX_WARNINGS).map((warning) => warning.slice(0, MAX_WARNING_LENGTH)))}`
    : '';
  // The ids, reason, revision and policy are plain by construction (canonical-json.ts); what
  // the caller named is quoted.
  return `"decision_id":${plainOrNull(decision.decision_id)},"request_id":"${requestId}","allow":${decision.allow},` +
    `"reason":"${decision.reason}","subject":${quote(request.subject.id)},"action":${quote(request.action)},` +
    `"resource":{"type":${quote(resource.type)},"id":${quote(resource.id)}},` +
    `"registry_revision":${plainOrNull(decision.registry_revision)},"policy":${plainOrNull(decision.policy)},` +
    `"duration_ms":${millisText(durationMs)}${keys},"caller":${quote(caller)}${grant}${warned}`;
}

/** When checkpoints are written (contract section 15). */
export interface CheckpointOptions {
  /** The audit key for the next checkpoint (read again each time, so a rotated key is used). */
  readonly key: () => Buffer;
  /** A checkpoint follows at least every this many decisions. */
  readonly everyDecisions?: number;
  /** ...and every this many milliseconds in which there were decisions. */
  readonly everyMs?: number;
}

const logs = new WeakMap<Logger, DecisionLog>();

/**
 * One JSON line per decision (contract sections 8 and 15), each written before its reply, committed in
 * groups: the lines of the checks decided in one turn of the event loop go out together in one
 * synchronous write, at the end of that turn or as soon as `GROUP_SIZE` are waiting, and only
 * then are their replies sent. No reply ever leaves before its line, and the lines are written
 * whatever the log level: they are the audit trail. Sharing the write (a system
 * call and the destination's bookkeeping), and sending replies together, cut the CPU per check
 * by a quarter; the bound keeps the first checks of a very busy turn from waiting for all the others.
 *
 * Each line is numbered (`seq`) and chained to the one before (`chain`) as it is queued, so
 * the chain follows the order of the lines in the output; with checkpoints on, a keyed
 * `checkpoint` line goes into the same output right after the decision line it seals.
 */
export class DecisionLog {
  /**
   * Measured with stdout a pipe that another process drains, as in a pod: each write into an
   * empty pipe also wakes the reader, which costs the writer several microseconds, so 32 lines
   * a write took about 4 µs less CPU per check than 8 (docs/performance-history.md).
   */
  static readonly GROUP_SIZE = 32;

  /** The process's one decision log on this logger: every lane that decides writes the one chain. */
  static for(logger: Logger): DecisionLog {
    let log = logs.get(logger);
    if (!log) logs.set(logger, (log = new DecisionLog(logger)));
    return log;
  }

  readonly logId = newLogId();
  /** The same on every line: made once. */
  private readonly logIdMember = `,"log_id":"${this.logId}"`;
  private readonly info: InfoLines;
  private readonly checkpointLines: InfoLines;
  private pending = '';
  private waiting: ((logged: boolean) => void)[] = [];
  private scheduled = false;
  private seq = 0;
  private chain = CHAIN_START;
  private checkpoints: { readonly key: () => Buffer; readonly every: number; readonly timer: NodeJS.Timeout } | undefined;
  private sealedSeq = 0;

  /** `schedule` runs a commit at the end of this turn; tests may run it themselves. */
  constructor(logger: Logger, private readonly schedule: (commit: () => void) => void = setImmediate) {
    this.info = infoLines(logger, 'decision');
    this.checkpointLines = infoLines(logger, 'checkpoint');
  }

  /** Starts writing checkpoints: every `everyDecisions` (1,000) decisions and every `everyMs` (10 s) with decisions. */
  startCheckpoints({ key, everyDecisions = 1000, everyMs = 10_000 }: CheckpointOptions): void {
    this.stopCheckpoints();
    const timer = setInterval(() => this.checkpoint(), everyMs).unref();
    this.checkpoints = { key, every: everyDecisions, timer };
  }

  /** Seals what is logged so far (at shutdown) and stops the checkpoint timer. */
  close(): void {
    this.checkpoint();
    this.stopCheckpoints();
  }

  private stopCheckpoints(): void {
    if (this.checkpoints) clearInterval(this.checkpoints.timer);
    this.checkpoints = undefined;
  }

  /** Writes a checkpoint for the last decision line now, unless it is sealed already or checkpoints are off. */
  checkpoint(): void {
    if (!this.checkpoints || this.sealedSeq === this.seq) return;
    this.queueCheckpoint(this.checkpoints.key());
    this.commit();
  }

  private queueCheckpoint(key: Buffer): void {
    const mac = checkpointMac(key, this.logId, this.seq, this.chain);
    this.pending += this.checkpointLines.line(`"log_id":"${this.logId}","seq":${this.seq},"chain":"${this.chain}","mac":"${mac}"`);
    this.sealedSeq = this.seq;
  }

  /**
   * Queues the record's line; `then(true)` runs once it is written, `then(false)` if the
   * write failed (so the caller can refuse to answer).
   */
  append(record: DecisionRecord, then: (logged: boolean) => void): void {
    this.seq += 1;
    // toFixed(0): the digits `${seq}` writes, but not through V8's number-to-string cache, which
    // holds on to the string of every number it converted for a while: with a new number on every
    // line, that was long enough for each to reach the old generation (docs/performance-history.md).
    const content = this.info.open(`${decisionFields(record)},"seq":${this.seq.toFixed(0)}${this.logIdMember}`);
    const { chain, line } = chainedLine(this.chain, content, this.info.close);
    this.chain = chain;
    this.pending += `${line}\n`;
    if (this.checkpoints && this.seq - this.sealedSeq >= this.checkpoints.every) this.queueCheckpoint(this.checkpoints.key());
    this.waiting.push(then);
    if (this.waiting.length >= DecisionLog.GROUP_SIZE) this.commit();
    else if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(this.endOfTurn);
    }
  }

  private readonly endOfTurn = (): void => {
    this.scheduled = false;
    if (this.waiting.length > 0) this.commit();
  };

  private commit(): void {
    const lines = this.pending;
    const waiting = this.waiting;
    this.pending = '';
    this.waiting = [];
    const logged = this.info.write(lines);
    // Every waiting check gets its answer, even if one callback throws; that error is not lost.
    let failure: unknown;
    for (const then of waiting) {
      try {
        then(logged);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }
}
