import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { FlexAuthError } from '../core/errors.js';

/** Bounds on what one client, or all of them together, may hold. */
export interface ServerLimits {
  /** Time to receive a request's headers (slow-loris). */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request, body included. */
  readonly requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  readonly keepAliveTimeoutMs: number;
  /** Open connections beyond this are refused by the server. */
  readonly maxConnections: number;
  /** Checks in progress (mostly: bodies still arriving) beyond this are answered 503. */
  readonly maxInFlightChecks: number;
  readonly maxHeaderBytes: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
  maxInFlightChecks: 512,
  maxHeaderBytes: 16 * 1024,
};

export class OverloadedError extends FlexAuthError {
  constructor() {
    super('overloaded', 503, 'too many checks in progress; retry shortly', [], true);
  }
}

/** Counts checks in progress; beyond the bound they are answered 503 `overloaded` instead of queued. */
export class InFlightBound {
  private inFlight = 0;
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  /** Takes a slot, or throws `OverloadedError`; give the slot back with `release()`. */
  acquire(): void {
    if (this.inFlight >= this.max) throw new OverloadedError();
    this.inFlight += 1;
  }

  release(): void {
    this.inFlight -= 1;
  }
}

/**
 * Node's answer to a request it could not even parse or receive in time, in the contract's
 * error shape: 408 `request_timeout` (slow-loris), 431 `headers_too_large`, 400 `bad_request`.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request_timeout', 'request not received in time'] as const
    : error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'headers_too_large', 'request headers are too large'] as const
    : [400, 'bad_request', 'malformed HTTP request'] as const;
  const body = JSON.stringify({ error: { code, message, details: [] } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
