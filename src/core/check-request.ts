import { ValidationError } from 'yup';
import { CERT_EXTENSIONS, CERTIFICATE_LIMITS, isCertType, isExtensionList, isPlainCriticalOptions } from './certificate.js';
import type { CertType, CriticalOptions } from './certificate.js';
import { certTypeSchema, criticalOptionsSchema, extensionList } from './certificate-schema.js';
import { parseDuration } from './duration.js';
import { InvalidRequestError } from './errors.js';
import { isPlainObject, isText, onlyKeys } from './json-shape.js';
import { isSubjectId, PRINCIPAL_HINT, PRINCIPAL_PATTERN, SSH_ACTOR, subjectIdProblem } from './patterns.js';
import { duration, list, plainObject, strictObject, text, validationDetails } from './schema.js';
import { JsonTextError, parseJson } from './strict-json.js';
import type { CheckRequest } from './types.js';
import type { Writable } from './writable.js';

/** Bounds on caller-supplied strings and lists: generous for real use, small enough to log. */
export const REQUEST_LIMITS = {
  idLength: 256,
  actionLength: 64,
  typeLength: 64,
  principals: 64,
  principalLength: 256,
} as const;

const CONTEXT_KEYS = ['ttl', 'principals', 'metadata', 'cert_type', 'extensions', 'critical_options'];

const requestSchema = strictObject({
  subject: strictObject({
    id: text(REQUEST_LIMITS.idLength).test({
      name: 'subject-id',
      test(value) {
        const problem = value ? subjectIdProblem(value) : undefined;
        return problem === undefined || this.createError({ message: problem });
      },
    }),
  }).required('is required'),
  action: text(REQUEST_LIMITS.actionLength),
  resource: strictObject({
    type: text(REQUEST_LIMITS.typeLength).optional(),
    id: text(REQUEST_LIMITS.idLength),
  }).required('is required'),
  context: strictObject({
    ttl: duration(),
    principals: list(text(REQUEST_LIMITS.principalLength).matches(PRINCIPAL_PATTERN, { message: PRINCIPAL_HINT, excludeEmptyString: true }))
      .min(1, 'must not be empty (omit it to request all of the actor\'s principals)')
      .max(REQUEST_LIMITS.principals, `must have at most ${REQUEST_LIMITS.principals} entries`),
    metadata: plainObject(),
    cert_type: certTypeSchema().optional(),
    extensions: extensionList().max(CERT_EXTENSIONS.length, `must have at most ${CERT_EXTENSIONS.length} entries`),
    critical_options: criticalOptionsSchema(),
  }),
}).required('request body must be a JSON object');

interface RawCheckRequest {
  subject: { id: string };
  action: string;
  resource: { type?: string; id: string };
  context?: {
    ttl?: number | string; principals?: string[]; metadata?: Record<string, unknown>;
    cert_type?: CertType; extensions?: string[]; critical_options?: CriticalOptions;
  };
}

function toCheckRequest(raw: RawCheckRequest, ttlSeconds: number | undefined): CheckRequest {
  const given = raw.context ?? {};
  // Members added one by one, never after a spread: see `Writable` in writable.ts.
  const context: Writable<CheckRequest['context']> = {};
  if (ttlSeconds !== undefined) context.ttl = ttlSeconds;
  if (given.principals) context.principals = given.principals;
  if (given.metadata) context.metadata = given.metadata;
  if (given.cert_type) context.cert_type = given.cert_type;
  if (given.extensions) context.extensions = given.extensions;
  if (given.critical_options) context.critical_options = given.critical_options;
  return {
    subject: { id: raw.subject.id },
    action: raw.action,
    resource: { type: raw.resource.type ?? SSH_ACTOR, id: raw.resource.id },
    context,
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
  if (!isText(subject.id, REQUEST_LIMITS.idLength) || !isSubjectId(subject.id)) return undefined;
  if (!isText(action, REQUEST_LIMITS.actionLength)) return undefined;
  if (!isPlainObject(resource) || !onlyKeys(resource, ['type', 'id']) || !isText(resource.id, REQUEST_LIMITS.idLength)) return undefined;
  if (resource.type !== undefined && !isText(resource.type, REQUEST_LIMITS.typeLength)) return undefined;
  let ttl: number | undefined;
  if (context !== undefined) {
    if (!isPlainObject(context) || !onlyKeys(context, CONTEXT_KEYS)) return undefined;
    if (context.ttl !== undefined) {
      const parsed = parseDuration(context.ttl);
      if (!parsed.ok) return undefined;
      ttl = parsed.seconds;
    }
    const { principals, metadata } = context;
    if (principals !== undefined) {
      if (!Array.isArray(principals) || principals.length === 0 || principals.length > REQUEST_LIMITS.principals) return undefined;
      for (const principal of principals) if (typeof principal !== 'string' || !PRINCIPAL_PATTERN.test(principal)) return undefined;
    }
    if (metadata !== undefined && !isPlainObject(metadata)) return undefined;
    const { cert_type: certType, extensions, critical_options: options } = context;
    if (certType !== undefined && !isCertType(certType)) return undefined;
    if (extensions !== undefined && !isExtensionList(extensions)) return undefined;
    if (options !== undefined && !isPlainCriticalOptions(options)) return undefined;
  }
  return toCheckRequest(body as unknown as RawCheckRequest, ttl);
}

/**
 * The body yup is given: a principals list far past the limit is cut to one past it, so the
 * limit's error is still reported but a 30,000-item list costs no more to judge than 65.
 */
function boundedForValidation(body: unknown): unknown {
  if (!isPlainObject(body) || !isPlainObject(body.context)) return body;
  const { principals, extensions, critical_options: options } = body.context;
  const cut = (list: unknown, max: number): unknown => (Array.isArray(list) && list.length > max + 1 ? list.slice(0, max + 1) : list);
  const sources = isPlainObject(options) ? options.source_address : undefined;
  if (cut(principals, REQUEST_LIMITS.principals) === principals && cut(extensions, CERT_EXTENSIONS.length) === extensions &&
    cut(sources, CERTIFICATE_LIMITS.sourceAddresses) === sources) return body;
  return {
    ...body,
    context: {
      ...body.context,
      principals: cut(principals, REQUEST_LIMITS.principals),
      extensions: cut(extensions, CERT_EXTENSIONS.length),
      ...(isPlainObject(options) ? { critical_options: { ...options, source_address: cut(sources, CERTIFICATE_LIMITS.sourceAddresses) } } : {}),
    },
  };
}

/** The schema's verdict: a `CheckRequest`, or an `InvalidRequestError` listing the problems (capped). */
export function validateCheckRequest(body: unknown): CheckRequest {
  let raw: RawCheckRequest;
  try {
    raw = requestSchema.validateSync(boundedForValidation(body), { abortEarly: false }) as RawCheckRequest;
  } catch (error) {
    if (error instanceof ValidationError) {
      const { details, total } = validationDetails(error);
      throw new InvalidRequestError('request does not match the check schema', details, total);
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

/**
 * Parses a request body's text as strict JSON (no duplicate keys). Throws an
 * `InvalidRequestError` (400 `invalid_request`) whose one detail has the path of the problem.
 */
export function parseRequestJson(text: string): unknown {
  try {
    return parseJson(text);
  } catch (error) {
    if (!(error instanceof JsonTextError)) throw error;
    throw new InvalidRequestError(`request body is not valid JSON: ${error.message}`, [{ path: error.path, message: error.message }]);
  }
}

/** Parses JSON text into a check request; bad JSON is an `invalid_request` like any other. */
export function parseCheckRequestText(text: string): CheckRequest {
  return parseCheckRequest(parseRequestJson(text));
}
