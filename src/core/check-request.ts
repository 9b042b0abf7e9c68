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

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[]): boolean {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) return false;
  return true;
}

function isText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

function toCheckRequest(raw: RawCheckRequest, ttlSeconds: number | undefined): CheckRequest {
  const context = raw.context ?? {};
  return {
    subject: { id: raw.subject.id },
    action: raw.action,
    resource: { type: raw.resource.type ?? DEFAULT_RESOURCE_TYPE, id: raw.resource.id },
    context: {
      ...(ttlSeconds === undefined ? {} : { ttl: ttlSeconds }),
      ...(context.principals ? { principals: context.principals } : {}),
      ...(context.metadata ? { metadata: context.metadata } : {}),
    },
  };
}

/**
 * The hot path: accepts only bodies that are plainly valid under the schema, and returns
 * undefined for anything else, which then goes through yup for the verdict and its error
 * details. yup's schema stays the source of truth; a property test checks that this never
 * accepts what yup rejects, and gives the same result when it accepts.
 */
export function fastCheckRequest(body: unknown): CheckRequest | undefined {
  if (!isPlainObject(body) || !onlyKeys(body, ['subject', 'action', 'resource', 'context'])) return undefined;
  const { subject, action, resource, context } = body;
  if (!isPlainObject(subject) || !onlyKeys(subject, ['id'])) return undefined;
  if (!isText(subject.id, REQUEST_LIMITS.idLength) || !SUBJECT_ID_PATTERN.test(subject.id)) return undefined;
  if (!isText(action, REQUEST_LIMITS.actionLength)) return undefined;
  if (!isPlainObject(resource) || !onlyKeys(resource, ['type', 'id']) || !isText(resource.id, REQUEST_LIMITS.idLength)) return undefined;
  if (resource.type !== undefined && !isText(resource.type, REQUEST_LIMITS.typeLength)) return undefined;
  let ttl: number | undefined;
  if (context !== undefined) {
    if (!isPlainObject(context) || !onlyKeys(context, ['ttl', 'principals', 'metadata'])) return undefined;
    if (context.ttl !== undefined) {
      const parsed = parseDuration(context.ttl);
      if (!parsed.ok) return undefined;
      ttl = parsed.seconds;
    }
    const { principals, metadata } = context;
    if (principals !== undefined) {
      if (!Array.isArray(principals) || principals.length === 0 || principals.length > REQUEST_LIMITS.principals) return undefined;
      for (const principal of principals) if (!isText(principal, REQUEST_LIMITS.principalLength)) return undefined;
    }
    if (metadata !== undefined && !isPlainObject(metadata)) return undefined;
  }
  return toCheckRequest(body as unknown as RawCheckRequest, ttl);
}

/** The schema's verdict: a `CheckRequest`, or an `InvalidRequestError` listing every problem. */
export function validateCheckRequest(body: unknown): CheckRequest {
  let raw: RawCheckRequest;
  try {
    raw = requestSchema.validateSync(body, { abortEarly: false }) as RawCheckRequest;
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new InvalidRequestError('request does not match the check schema', validationDetails(error));
    }
    throw error;
  }
  const ttl = raw.context?.ttl === undefined ? undefined : parseDuration(raw.context.ttl);
  return toCheckRequest(raw, ttl?.ok ? ttl.seconds : undefined);
}

/**
 * Validates a parsed JSON body against the contract and converts it to a `CheckRequest`
 * (ttl in seconds, resource type defaulted). Throws `InvalidRequestError` listing every problem.
 */
export function parseCheckRequest(body: unknown): CheckRequest {
  return fastCheckRequest(body) ?? validateCheckRequest(body);
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
