import { writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { pino } from 'pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export interface LoggerOptions {
  readonly level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to read the lines back. */
  readonly destination?: DestinationStream;
}

/** pino's levels in order, and `silent`: what FLEX_AUTH_LOG_LEVEL may be. */
export const LOG_LEVELS: readonly string[] = [...Object.keys(pino.levels.values), 'silent'];

/** `fs.writeSync` with a buffer: bytes written, or it throws. */
export type WriteBytes = (fd: number, buffer: Buffer, offset: number, length: number) => number;

/** Never notified: `Atomics.wait` on it only times out. */
const NEVER_SET = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms`: a synchronous writer has no other way to wait for the reader. */
function sleep(ms: number): void {
  Atomics.wait(NEVER_SET, 0, 0, ms);
}

/** How long to wait before trying again when a non-blocking descriptor is full. */
const FULL_RETRY_MS = 1;
/** The encoding buffer kept between writes; a text that needs more is encoded on its own. */
const KEPT_BUFFER_BYTES = 1 << 20;

/**
 * The logger's stdout: text written to a file descriptor synchronously and whole, or the write
 * throws. Every line leaves before the write returns (a decision's line before its reply, and nothing
 * held back at exit), a full non-blocking descriptor is waited for, and a text written in part
 * when the descriptor fails breaks the writer for good, since whatever followed would continue
 * a torn line.
 *
 * In place of pino.destination (sonic-boom), which measures each text's UTF-8 length before
 * writing it and copies all of it into a new Buffer after: three encodings of every group of
 * decision lines, where this makes one, into a buffer it keeps (docs/performance-history.md).
 */
export class SyncFdWriter {
  private buffer = Buffer.allocUnsafeSlow(128 * 1024);
  private torn: Error | undefined;

  constructor(
    private readonly fd: number,
    private readonly writeBytes: WriteBytes = writeSync,
    private readonly wait: (ms: number) => void = sleep,
  ) {}

  /** Writes all of `text` as UTF-8, or throws (the descriptor's error, such as EPIPE). */
  write(text: string): void {
    if (this.torn) throw this.torn;
    const { bytes, length } = this.encode(text);
    let offset = 0;
    while (offset < length) {
      try {
        offset += this.writeBytes(this.fd, bytes, offset, length - offset);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
          this.wait(FULL_RETRY_MS);
          continue;
        }
        if (offset > 0) this.torn = error as Error;
        throw error;
      }
    }
  }

  private encode(text: string): { bytes: Buffer; length: number } {
    // UTF-8 takes at most 3 bytes for each UTF-16 unit (a lone surrogate becomes U+FFFD, 3 bytes).
    const most = text.length * 3;
    if (most > KEPT_BUFFER_BYTES) {
      const bytes = Buffer.from(text, 'utf8');
      return { bytes, length: bytes.length };
    }
    if (most > this.buffer.length) this.buffer = Buffer.allocUnsafeSlow(Math.min(KEPT_BUFFER_BYTES, Math.max(most, 2 * this.buffer.length)));
    return { bytes: this.buffer, length: this.buffer.write(text, 0, 'utf8') };
  }
}

/**
 * The one destination of a logger's lines, held here rather than read back from pino, so the
 * decision log can write to it directly and know whether its lines went out. A write that
 * throws fails that write (stdout's writer throws EPIPE on every write once nobody reads). An
 * `error` event breaks the destination for good: a stream such as pino's own stdout stream
 * reports EPIPE only that way and then turns its `write` into a no-op, so without this a
 * decision would be answered with no line written.
 */
class LogOutput {
  private broken: Error | undefined;
  private reported = false;

  constructor(private readonly stream: DestinationStream) {
    const events = stream as Partial<NodeJS.EventEmitter>;
    events.on?.('error', (error: Error) => {
      this.broken ??= error;
      this.report(error);
    });
  }

  /** For pino's operational lines: a failure is reported, never thrown into the caller. */
  write(text: string): void {
    this.writeLines(text);
  }

  /** Writes synchronously; false when the lines could not be written. */
  writeLines(text: string): boolean {
    if (this.broken) return false;
    try {
      this.stream.write(text);
    } catch (error) {
      this.report(error as Error);
      return false;
    }
    return this.broken === undefined;
  }

  /** pino's `logger.flush()` reaches the stream through this. */
  flush(done?: (error?: Error) => void): void {
    const flushable = this.stream as { flush?: (cb?: (error?: Error) => void) => void };
    if (flushable.flush && !this.broken) flushable.flush(done);
    else done?.();
  }

  /** Once: the log cannot carry the news, so stderr does; the metric counts every refused check. */
  private report(error: Error): void {
    if (this.reported) return;
    this.reported = true;
    const cause = (error as NodeJS.ErrnoException).code ?? error.message;
    process.stderr.write(`flex-auth: writing to the log destination failed (${cause}); a check whose decision line is not written is answered 500\n`);
  }
}

const outputs = new WeakMap<Logger, LogOutput>();

/**
 * JSON lines on stdout. Writes are synchronous so that a decision's log line is out before
 * its response is sent, and nothing is lost when the process exits. Throws a clear error for
 * a level pino does not know.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.FLEX_AUTH_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(level)) {
    const setting = options.level === undefined ? 'FLEX_AUTH_LOG_LEVEL' : 'the log level';
    throw new Error(`${setting} must be one of ${LOG_LEVELS.join(', ')} (got ${level})`);
  }
  const output = new LogOutput(options.destination ?? new SyncFdWriter(1));
  const logger = pino(
    {
      level,
      base: { pid: process.pid, hostname: hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Children share the destination, so the decision log can find it from any of them.
      onChild: (child) => outputs.set(child, output),
    },
    output,
  );
  outputs.set(logger, output);
  return logger;
}

/** `new Date().toISOString()`, formatted once per millisecond however many lines share it. */
let isoMillis = -1;
let isoText = '';
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMillis) {
    isoMillis = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/** Info lines the caller serializes and writes itself, in the shape of the logger's own, at any level. */
export interface InfoLines {
  /**
   * The line `logger.info(fields, msg)` would write at level info (level, time, pid, hostname,
   * the logger's bindings, the fields, msg; newline included), whatever the logger's level.
   */
  line(fields: string): string;
  /** The same line in two parts, so a caller can add a member just before `msg`: `open(fields)`... */
  open(fields: string): string;
  /** ...then `close`, the `msg` member and the closing brace (no newline). */
  readonly close: string;
  /** Writes lines, synchronously, to the logger's destination; false if they could not be written. */
  write(lines: string): boolean;
}

/**
 * For the decision log, the audit trail: written whatever the level (the level governs the
 * operational messages only), and with its own serializer, because pino's generic one cost more
 * than the decision itself and a caller that writes its own lines can write several at once.
 */
export function infoLines(logger: Logger, msg: string): InfoLines {
  const output = outputs.get(logger);
  if (!output) throw new Error('infoLines needs a logger made by createLogger');
  let bindings = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())}`;
  for (const [key, value] of Object.entries(logger.bindings())) bindings += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
  const close = `,"msg":${JSON.stringify(msg)}}`;
  const open = (fields: string) => `{"level":"info","time":"${isoNow()}"${bindings},${fields}`;
  return {
    line: (fields) => `${open(fields)}${close}\n`,
    open,
    close,
    write: (lines) => output.writeLines(lines),
  };
}
