/** One problem in a document or request, located by its JSON path (`actors[3].ttl.max`). */
export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

/** The path of the whole document or body, the same in every answer, log line and CLI output. */
export const ROOT_PATH = '(root)';

/** Details listed at most in one error: enough to fix a document in a few rounds, small to send and log. */
export const MAX_ERROR_DETAILS = 20;

/**
 * The first `MAX_ERROR_DETAILS` details, then, when there are more (`total` counts those not
 * even collected), one at the root saying how many more were found.
 */
export function capDetails(details: readonly ErrorDetail[], total = details.length): readonly ErrorDetail[] {
  if (total <= MAX_ERROR_DETAILS) return details;
  const more = total - MAX_ERROR_DETAILS;
  return [...details.slice(0, MAX_ERROR_DETAILS), { path: ROOT_PATH, message: `... and ${more} more error${more === 1 ? '' : 's'}` }];
}

/**
 * The one error base class. `status` is the HTTP status the error maps to; `expose` says
 * whether its message may be shown to a caller (4xx) or must be replaced by a generic one (5xx).
 */
export class FlexAuthError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;
  readonly details: readonly ErrorDetail[];

  constructor(code: string, status: number, message: string, details: readonly ErrorDetail[] = [], expose = status < 500) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.expose = expose;
    this.details = details;
  }
}

/** A malformed check request: bad JSON, wrong types, unknown keys, invalid durations. */
export class InvalidRequestError extends FlexAuthError {
  /** `total` counts every problem found, when there are more than `details` lists. */
  constructor(message: string, details: readonly ErrorDetail[] = [], total = details.length) {
    super('invalid_request', 400, message, capDetails(details, total));
  }
}

/**
 * A registry document that must not be loaded; `details` lists the problems at once, capped.
 * `total` counts every problem found, when validation found more than it listed.
 */
export class RegistryValidationError extends FlexAuthError {
  readonly total: number;

  constructor(details: readonly ErrorDetail[], total = details.length) {
    super('invalid_registry', 400, `registry is invalid: ${total} error${total === 1 ? '' : 's'}`, capDetails(details, total));
    this.total = total;
  }
}

/** Renders details the way the CLI and logs show them: `path: message`. */
export function formatDetail(detail: ErrorDetail): string {
  return `${detail.path}: ${detail.message}`;
}
