import type { Context, Next } from 'koa';
import { FlexAuthError } from '../core/errors.js';
import type { ErrorDetail } from '../core/errors.js';
import type { Logger } from '../logger.js';

/** Response headers as a flat `[name, value, ...]` list, the form `writeHead` takes without an object. */
export type HeaderList = readonly string[];

const NO_HEADERS: HeaderList = [];

/**
 * An error that carries, besides its status and code, the response headers its answer needs
 * (as http-errors' `headers` do), so no lane has to recognise error classes to choose them.
 */
export class HttpError extends FlexAuthError {
  readonly headers: HeaderList;

  constructor(code: string, status: number, message: string, headers: HeaderList = NO_HEADERS, expose = status < 500) {
    super(code, status, message, [], expose);
    this.headers = headers;
  }
}

export class NotFoundError extends HttpError {
  /** `hint` says where to look instead, for a path that is served elsewhere. */
  constructor(method: string, path: string, hint?: string) {
    super('not_found', 404, `no route for ${method} ${path}${hint ? `: ${hint}` : ''}`);
  }
}

export class MethodNotAllowedError extends HttpError {
  constructor(method: string, path: string, allow: string) {
    super('method_not_allowed', 405, `${method} is not allowed on ${path}`, ['Allow', allow]);
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limit: number) {
    // The rest of an oversized body is not read, so the connection cannot carry another request.
    super('payload_too_large', 413, `request body exceeds ${limit} bytes`, ['Connection', 'close']);
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(received: string | undefined) {
    super('unsupported_media_type', 415, `Content-Type must be application/json${received ? ` (got ${received})` : ''}`);
  }
}

/** A compressed body: RFC 7694 asks the 415 to say which encodings are accepted. */
export class UnsupportedEncodingError extends HttpError {
  constructor(received: string) {
    super('unsupported_media_type', 415, `Content-Encoding ${received} is not supported; send the body uncompressed`, ['Accept-Encoding', 'identity']);
  }
}

/** An expected state, not a fault: its message is shown and it is not logged as a failure. */
export class RegistryUnavailableError extends HttpError {
  constructor() {
    super('registry_unavailable', 503, 'no valid registry is loaded yet', NO_HEADERS, true);
  }
}

/** The registry is past `--max-staleness`: answers that would come from it wait until its source confirms it again. */
export class RegistryStaleError extends HttpError {
  constructor(message: string) {
    super('registry_stale', 503, message, NO_HEADERS, true);
  }
}

/** Answers to requests Node could not even parse, or receive in time; the connection is closed after them. */
export class RequestTimeoutError extends HttpError {
  constructor() {
    super('request_timeout', 408, 'request not received in time', ['Connection', 'close']);
  }
}

export class HeadersTooLargeError extends HttpError {
  constructor() {
    super('headers_too_large', 431, 'request headers are too large', ['Connection', 'close']);
  }
}

export class MalformedRequestError extends HttpError {
  constructor() {
    super('bad_request', 400, 'malformed HTTP request', ['Connection', 'close']);
  }
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details: readonly ErrorDetail[] };
}

export interface ErrorAnswer {
  readonly status: number;
  readonly headers: HeaderList;
  readonly body: ErrorBody;
}

/**
 * The one mapping from errors to answers, for the check lane, the Koa routes and the raw
 * answers to unparsable requests alike: a `FlexAuthError` keeps its status, code, headers and
 * (when exposed) message and details (already bounded where they are made: `capDetails` in
 * core lists the first 20 and counts the rest); anything else is a 500
 * with a generic message, never a stack trace.
 */
export function errorAnswer(error: unknown): ErrorAnswer {
  if (!(error instanceof FlexAuthError)) {
    return { status: 500, headers: NO_HEADERS, body: { error: { code: 'internal_error', message: 'internal error', details: [] } } };
  }
  const headers = error instanceof HttpError ? error.headers : NO_HEADERS;
  if (!error.expose) return { status: error.status, headers, body: { error: { code: error.code, message: 'internal error', details: [] } } };
  return { status: error.status, headers, body: { error: { code: error.code, message: error.message, details: error.details } } };
}

/** `errorAnswer`, after logging what is a fault rather than the caller's mistake (with its cause; the caller never sees it). */
export function errorResponse(error: unknown, logger: Logger, where: { readonly requestId: string; readonly path: string }): ErrorAnswer {
  if (!(error instanceof FlexAuthError) || !error.expose) logger.error({ err: error, request_id: where.requestId, path: where.path }, 'request failed');
  return errorAnswer(error);
}

/** Koa's end of it: turns whatever a route or the routing throws into the answer. */
export function errorHandler(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (error) {
      const answer = errorResponse(error, logger, { requestId: ctx.state.requestId as string, path: ctx.path });
      ctx.status = answer.status;
      ctx.body = answer.body;
      for (let i = 0; i < answer.headers.length; i += 2) ctx.set(answer.headers[i]!, answer.headers[i + 1]!);
    }
  };
}
