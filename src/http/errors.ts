import type { Context, Next } from 'koa';
import { FlexAuthError } from '../core/errors.js';
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

/**
 * The one place errors become responses: `FlexAuthError`s map to the contract's JSON error
 * shape with their status; anything else is a 500 with a generic message, logged here and
 * never shown (no stack traces leave the process).
 */
export function errorHandler(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.body !== undefined && ctx.body !== null) return;
      if (ctx.status === 405) throw new MethodNotAllowedError(ctx.method, ctx.path);
      if (ctx.status === 404) throw new NotFoundError(ctx.method, ctx.path);
    } catch (error) {
      const known = error instanceof FlexAuthError;
      if (!known || !error.expose) {
        logger.error({ err: error, request_id: ctx.state.requestId, path: ctx.path }, 'request failed');
      }
      const status = known ? error.status : 500;
      ctx.status = status;
      ctx.body = {
        error: {
          code: known ? error.code : 'internal_error',
          message: known && error.expose ? error.message : 'internal error',
          details: known && error.expose ? error.details : [],
        },
      };
    }
  };
}
