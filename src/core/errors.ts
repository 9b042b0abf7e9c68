/** One problem in a document or request, located by its JSON path (`actors[3].ttl.max`). */
export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
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
  constructor(message: string, details: readonly ErrorDetail[] = []) {
    super('invalid_request', 400, message, details);
  }
}

/** A registry document that must not be loaded; `details` lists every problem at once. */
export class RegistryValidationError extends FlexAuthError {
  constructor(details: readonly ErrorDetail[]) {
    const count = details.length;
    super('invalid_registry', 400, `registry is invalid: ${count} error${count === 1 ? '' : 's'}`, details);
  }
}

/** Renders details the way the CLI and logs show them: `path: message`, root as `(root)`. */
export function formatDetail(detail: ErrorDetail): string {
  return `${detail.path || '(root)'}: ${detail.message}`;
}
