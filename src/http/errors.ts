import type { Context, Next } from 'koa';
import { FlexAuthError } from '../core/errors.js';
import type { ErrorDetail } from '../core/errors.js';
import type { Logger } from '../logger.js';

export class NotFoundError extends FlexAuthError {
  constructor(method: string, path: string) {
    super('not_found', 404, `no route for ${method} ${path}`);
  }
}

export class MethodNotAllowedError extends FlexAuthError {
  constructor(method: string, path: string) {
    super('method_not_allowed', 405, `${method} is not allowed on ${path}`);
  }
}

export class PayloadTooLargeError extends FlexAuthError {
  constructor(limit: number) {
    super('payload_too_large', 413, `request body exceeds ${limit} bytes`);
  }
}

export class UnsupportedMediaTypeError extends FlexAuthError {
  constructor(received: string | undefined) {
    super('unsupported_media_type', 415, `Content-Type must be application/json${received ? ` (got ${received})` : ''}`);
  }
}

/** An expected state, not a fault: its message is shown and it is not logged as a failure. */
export class RegistryUnavailableError extends FlexAuthError {
  constructor() {
    super('registry_unavailable', 503, 'no valid registry is loaded yet', [], true);
  }
}

export interface ErrorResponse {
  readonly status: number;
  readonly body: { readonly error: { readonly code: string; readonly message: string; readonly details: readonly ErrorDetail[] } };
}

/**
 * The one mapping from errors to responses, for the check lane and the Koa routes alike:
 * `FlexAuthError`s keep their status, code and (4xx) message and details; anything else is a
 * 500 with a generic message, logged here and never shown (no stack trace leaves the process).
 */
export function errorResponse(error: unknown, logger: Logger, where: { readonly requestId: string; readonly path: string }): ErrorResponse {
  const known = error instanceof FlexAuthError;
  if (!known || !error.expose) logger.error({ err: error, request_id: where.requestId, path: where.path }, 'request failed');
  return {
    status: known ? error.status : 500,
    body: {
      error: {
        code: known ? error.code : 'internal_error',
        message: known && error.expose ? error.message : 'internal error',
        details: known && error.expose ? error.details : [],
      },
    },
  };
}

/** Koa's end of it: turns thrown errors, unmatched routes and wrong methods into error responses. */
export function errorHandler(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.body !== undefined && ctx.body !== null) return;
      if (ctx.status === 405) throw new MethodNotAllowedError(ctx.method, ctx.path);
      if (ctx.status === 404) throw new NotFoundError(ctx.method, ctx.path);
    } catch (error) {
      const response = errorResponse(error, logger, { requestId: ctx.state.requestId as string, path: ctx.path });
      ctx.status = response.status;
      ctx.body = response.body;
    }
  };
}
