import { createServer, STATUS_CODES } from 'node:http';
import type { RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { errorAnswer, HeadersTooLargeError, MalformedRequestError, RequestTimeoutError } from './errors.js';

/**
 * Every bound on what one client, or all of them together, may hold: the one place the
 * server's limits are set. Checks hold no slot of their own while their body arrives (see
 * docs/security.md): a slow body costs a connection, bounded here in number and in time.
 */
export interface ServerLimits {
  /** Time to receive a request's headers (slow-loris). */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request, body included. */
  readonly requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  readonly keepAliveTimeoutMs: number;
  /** Open connections beyond this are refused by the server. */
  readonly maxConnections: number;
  readonly maxHeaderBytes: number;
  /** A check body above this is answered 413. */
  readonly maxBodyBytes: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
  maxHeaderBytes: 16 * 1024,
  maxBodyBytes: 64 * 1024,
};

/** Node's response in progress on a connection, if any (what its own client-error handler consults). */
type ServerSocket = Socket & { readonly _httpMessage?: ServerResponse | null };

/** Connections whose request ran out of time and were answered 408 here. */
const timedOut = new WeakSet<Socket>();

/** Whether the request on `socket` was answered 408 for running out of time (its body reader then sees it end early). */
export function requestTimedOut(socket: Socket): boolean {
  return timedOut.has(socket);
}

function rawAnswer(error: NodeJS.ErrnoException): string {
  const { status, headers, body } = errorAnswer(
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? new RequestTimeoutError()
    : error.code === 'HPE_HEADER_OVERFLOW' ? new HeadersTooLargeError()
    : new MalformedRequestError(),
  );
  const json = JSON.stringify(body);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n${json}`;
}

/**
 * Node's answer to a request it could not parse or receive in time, in the contract's error
 * shape, after which the connection is destroyed: Node's HTTP sockets are half-open, so ending
 * only our side would leave the connection open for as long as the client likes. A malformed
 * request pipelined behind a valid one waits until that one's answer has gone out, so it
 * cannot replace it. `closeAfterMs` bounds a client that never reads its answer.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: ServerSocket, closeAfterMs: number): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const inFlight = socket._httpMessage;
  // A timeout belongs to the request in flight itself; a parse error to one behind it.
  if (inFlight && error.code !== 'ERR_HTTP_REQUEST_TIMEOUT') {
    inFlight.once('finish', () => answerClientError(error, socket, closeAfterMs));
    return;
  }
  if (inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') timedOut.add(socket);
  socket.end(rawAnswer(error), () => socket.destroy());
  setTimeout(() => socket.destroy(), closeAfterMs).unref();
}

/** An HTTP server that enforces `limits`; it does not listen yet. */
export function limitedServer(listener: RequestListener, limits: ServerLimits): Server {
  const server = createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxHeaderSize: limits.maxHeaderBytes,
    // Timeouts are enforced when connections are checked; check often enough for short limits.
    connectionsCheckingInterval: Math.min(1000, Math.ceil(limits.headersTimeoutMs / 2)),
  }, listener);
  server.maxConnections = limits.maxConnections;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: ServerSocket) => answerClientError(error, socket, limits.headersTimeoutMs));
  return server;
}
