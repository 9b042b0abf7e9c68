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

/**
 * An info-level writer for a line whose fields the caller has already serialized, for the one
 * line per check: pino's generic serializer cost more than the decision itself. The line has
 * the shape `logger.info(fields, msg)` gives (level, time, the logger's bindings, the fields,
 * msg) and goes synchronously to the same destination, subject to the same level.
 */
export function serializedInfoWriter(logger: Logger, msg: string): (fields: string) => void {
  const internals = logger as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as DestinationStream;
  const suffix = `,"msg":${JSON.stringify(msg)}}\n`;
  return (fields) => {
    if (!logger.isLevelEnabled('info')) return;
    // Read per line: child bindings are fixed, but this keeps the writer honest if they change.
    const bindings = internals[pino.symbols.chindingsSym] as string;
    stream.write(`{"level":"info","time":"${isoNow()}"${bindings},${fields}${suffix}`);
  };
}
