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

/**
 * The one destination of a logger's lines, held here rather than read back from pino, so the
 * decision log can write to it directly and know whether its lines went out. A write that
 * throws fails that write. An `error` event breaks the destination for good: pino's stdout
 * stream reports EPIPE only that way and then turns its own `write` into a no-op, so without
 * this a decision would be answered with no line written.
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
  const output = new LogOutput(options.destination ?? pino.destination({ dest: 1, sync: true }));
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
