import { ValidationError } from 'yup';
import { parseDuration } from './duration.js';
import { InvalidRequestError } from './errors.js';
import { duration, list, plainObject, strictObject, text, validationDetails } from './schema.js';
import type { CheckRequest } from './types.js';

export const DEFAULT_RESOURCE_TYPE = 'ssh_actor';

/** Bounds on caller-supplied strings and lists: generous for real use, small enough to log. */
export const REQUEST_LIMITS = {
  idLength: 256,
  actionLength: 64,
  typeLength: 64,
  principals: 64,
  principalLength: 256,
} as const;

/** Subject ids (`agt-x`, `iam:agt-x`); never a userset, so a caller cannot pose as a group. */
export const SUBJECT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@:/+=-]*$/;
export const SUBJECT_ID_HINT = 'must be a subject id such as agt-x or iam:agt-x (letters, digits and ._@:/+=-)';

const requestSchema = strictObject({
  subject: strictObject({
    id: text(REQUEST_LIMITS.idLength).matches(SUBJECT_ID_PATTERN, { message: SUBJECT_ID_HINT, excludeEmptyString: true }),
  }).required('is required'),
  action: text(REQUEST_LIMITS.actionLength),
  resource: strictObject({
    type: text(REQUEST_LIMITS.typeLength).optional(),
    id: text(REQUEST_LIMITS.idLength),
  }).required('is required'),
  context: strictObject({
    ttl: duration(),
    principals: list(text(REQUEST_LIMITS.principalLength))
      .min(1, 'must not be empty (omit it to request all of the actor\'s principals)')
      .max(REQUEST_LIMITS.principals, `must have at most ${REQUEST_LIMITS.principals} entries`),
    metadata: plainObject(),
  }),
}).required('request body must be a JSON object');

interface RawCheckRequest {
  subject: { id: string };
  action: string;
  resource: { type?: string; id: string };
  context?: { ttl?: number | string; principals?: string[]; metadata?: Record<string, unknown> };
}

/**
 * Validates a parsed JSON body against the contract and converts it to a `CheckRequest`
 * (ttl in seconds, resource type defaulted). Throws `InvalidRequestError` listing every problem.
 */
export function parseCheckRequest(body: unknown): CheckRequest {
  let raw: RawCheckRequest;
  try {
    raw = requestSchema.validateSync(body, { abortEarly: false }) as RawCheckRequest;
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new InvalidRequestError('request does not match the check schema', validationDetails(error));
    }
    throw error;
  }
  const context = raw.context ?? {};
  const ttl = context.ttl === undefined ? undefined : parseDuration(context.ttl);
  return {
    subject: { id: raw.subject.id },
    action: raw.action,
    resource: { type: raw.resource.type ?? DEFAULT_RESOURCE_TYPE, id: raw.resource.id },
    context: {
      ...(ttl?.ok ? { ttl: ttl.seconds } : {}),
      ...(context.principals ? { principals: context.principals } : {}),
      ...(context.metadata ? { metadata: context.metadata } : {}),
    },
  };
}

/** Parses JSON text into a check request; bad JSON is an `invalid_request` like any other. */
export function parseCheckRequestText(text: string): CheckRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError(`request body is not valid JSON: ${(error as Error).message}`);
  }
  return parseCheckRequest(body);
}
