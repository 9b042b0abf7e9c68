import { pino } from 'pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export interface LoggerOptions {
  readonly level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to read the lines back. */
  readonly destination?: DestinationStream;
}

/**
 * JSON lines on stdout. Writes are synchronous so that a decision's log line is out before
 * its response is sent, and nothing is lost when the process exits.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.FLEX_AUTH_LOG_LEVEL ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
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

/** Lines the caller serializes and writes itself, in the shape of the logger's own. */
export interface SerializedInfo {
  /**
   * The line `logger.info(fields, msg)` would write (level, time, the logger's bindings, the
   * fields, msg; newline included), or undefined when info is not enabled.
   */
  line(fields: string): string | undefined;
  /** Writes lines, synchronously, to the logger's own destination. */
  write(lines: string): void;
}

/**
 * For the one line per check: pino's generic serializer cost more than the decision itself,
 * and a caller that writes its own lines can write several at once.
 */
export function serializedInfo(logger: Logger, msg: string): SerializedInfo {
  const internals = logger as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as DestinationStream;
  const suffix = `,"msg":${JSON.stringify(msg)}}\n`;
  return {
    line(fields) {
      if (!logger.isLevelEnabled('info')) return undefined;
      return `{"level":"info","time":"${isoNow()}"${internals[pino.symbols.chindingsSym] as string},${fields}${suffix}`;
    },
    write(lines) {
      stream.write(lines);
    },
  };
}
