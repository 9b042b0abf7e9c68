import type { IncomingMessage } from 'node:http';
import { InvalidRequestError } from '../core/errors.js';
import { parseRequestJson } from '../core/check-request.js';
import { PayloadTooLargeError, RequestTimeoutError, UnsupportedEncodingError, UnsupportedMediaTypeError } from './errors.js';
import { requestTimedOut } from './limits.js';

/** `application/json`, with or without parameters such as `charset=utf-8`. */
const JSON_MEDIA_TYPE = /^application\/json[ \t]*(?:;|$)/i;

/**
 * Reads a JSON body and calls back exactly once: 415 unless uncompressed `application/json`, 413
 * above the limit (declared or received), 400 if cut short or not JSON, 408 if it ran out of
 * time. Callback style rather than a promise: this is on every check's path, and Node's parser
 * already enforces Content-Length framing, so a few listeners are all it takes.
 */
export function readJsonBody(req: IncomingMessage, limit: number, done: (error: Error | null, body?: unknown) => void): void {
  const type = req.headers['content-type'];
  if (!type || !JSON_MEDIA_TYPE.test(type)) return done(new UnsupportedMediaTypeError(type));
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return done(new UnsupportedEncodingError(encoding));
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return done(new PayloadTooLargeError(limit));

  const chunks: Buffer[] = [];
  let received = 0;
  let settled = false;
  const settle = (error: Error | null, body?: unknown): void => {
    if (settled) return;
    settled = true;
    // Stop reading what is left of a refused body; Node closes or drains the connection.
    if (error) req.pause();
    done(error, body);
  };
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > limit) settle(new PayloadTooLargeError(limit));
    else chunks.push(chunk);
  });
  req.on('end', () => {
    if (settled) return;
    const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)).toString('utf8');
    let body: unknown;
    try {
      // Strict: a duplicate key is refused with its path, never resolved last-wins.
      body = parseRequestJson(text);
    } catch (error) {
      return settle(error as Error);
    }
    settle(null, body);
  });
  // Emitted (given a listener) when the client goes away mid-body, or when the server has
  // answered 408 because the body did not arrive in time: counted as that 408, not as a 400.
  req.on('error', () => settle(requestTimedOut(req.socket) ? new RequestTimeoutError() : new InvalidRequestError('request body was cut short')));
}
