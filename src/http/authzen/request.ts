import { parseCheckRequest } from '../../core/check-request.js';
import { InvalidRequestError } from '../../core/errors.js';
import type { ErrorDetail } from '../../core/errors.js';
import type { CheckRequest } from '../../core/types.js';

/**
 * AuthZEN 1.0 entities mapped onto the v1 check (docs/api.md, "AuthZEN"). The mapped request
 * goes through the same `parseCheckRequest` as /v1/check, so the two agree on validation,
 * defaults and the decision id by construction; only the error paths are renamed back.
 */

/** The subject type flex-auth answers subject searches for: registry subject ids are untyped. */
export const SUBJECT_TYPE = 'identity';
/** The one resource type the ssh-sign/v1 package serves. */
export const RESOURCE_TYPE = 'ssh_actor';
/** The keys of `action.properties` flex-auth reads; any other is named in a warning. */
const ACTION_PROPERTIES = ['ttl', 'principals', 'cert_type', 'extensions', 'critical_options'] as const;

export type Entity = Readonly<Record<string, unknown>>;

export function isObject(value: unknown): value is Entity {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function missing(path: string): InvalidRequestError {
  return new InvalidRequestError(`${path} is required`, [{ path, message: 'is required' }]);
}

/** An entity that must be an object (a missing one is a 400, as the spec asks). */
export function entity(body: Entity, key: string): Entity {
  const value = body[key];
  if (value === undefined || value === null) throw missing(key);
  if (!isObject(value)) throw new InvalidRequestError(`${key} must be an object`, [{ path: key, message: 'must be an object' }]);
  return value;
}

/** A required string field of an entity, non-empty. */
export function field(value: Entity, entityName: string, key: string): string {
  const path = `${entityName}.${key}`;
  const text = value[key];
  if (text === undefined || text === null) throw missing(path);
  if (typeof text !== 'string' || text === '') throw new InvalidRequestError(`${path} must be a non-empty string`, [{ path, message: 'must be a non-empty string' }]);
  return text;
}

/** An optional object member (`properties`, `context`): absent is `{}`, anything but an object a 400. */
export function optionalObject(value: Entity, key: string, path = key): Entity {
  const member = value[key];
  if (member === undefined) return {};
  if (!isObject(member)) throw new InvalidRequestError(`${path} must be an object`, [{ path, message: 'must be an object' }]);
  return member;
}

/** v1 check paths back to where the AuthZEN caller wrote them. */
function authzenPath(path: string): string {
  if (path === 'action') return 'action.name';
  if (path.startsWith('context.metadata')) return `context${path.slice('context.metadata'.length)}`;
  if (path.startsWith('context.')) return `action.properties.${path.slice('context.'.length)}`;
  return path;
}

function renamed(error: unknown): unknown {
  if (!(error instanceof InvalidRequestError)) return error;
  const details: ErrorDetail[] = error.details.map((detail) => ({ path: authzenPath(detail.path), message: detail.message }));
  const message = details.length > 0 ? `invalid request: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}` : error.message;
  return new InvalidRequestError(message, details);
}

/** Keys a caller may have meant for flex-auth but put where it does not read them. */
function warningsFor(subject: Entity, resource: Entity, context: Entity, properties: Entity): string[] {
  const warnings: string[] = [];
  for (const key of Object.keys(properties)) {
    if (!(ACTION_PROPERTIES as readonly string[]).includes(key)) {
      warnings.push(`action.properties.${key} is not a property flex-auth knows (it reads ${ACTION_PROPERTIES.join(', ')}); ignored`);
    }
  }
  for (const key of ACTION_PROPERTIES) {
    if (key in context) warnings.push(`context.${key} is not read: ${key} belongs in action.properties`);
  }
  // Not the type itself: warnings reach the decision log, which holds no request value beyond its fields.
  if (subject.type !== SUBJECT_TYPE) warnings.push(`subject.type is not ${JSON.stringify(SUBJECT_TYPE)}; subject ids are untyped and the decision uses subject.id only`);
  for (const [name, value] of [['subject', subject], ['resource', resource]] as const) {
    if (isObject(value.properties) && Object.keys(value.properties).length > 0) warnings.push(`${name}.properties is not used by the policy; ignored`);
  }
  return warnings;
}

export interface MappedEvaluation {
  readonly request: CheckRequest;
  readonly warnings: readonly string[];
}

/**
 * One AuthZEN evaluation (subject, action, resource, context) as the equivalent v1 check:
 * `action.name` is the action, `action.properties` (`ttl`, `principals`, `cert_type`,
 * `extensions`, `critical_options`) the check's context keys, the AuthZEN `context` the check's
 * `metadata` (logged by key names, never decided on).
 * Throws `InvalidRequestError` (a 400, or an item's error in a batch).
 */
export function mapEvaluation(evaluation: Entity): MappedEvaluation {
  const subject = entity(evaluation, 'subject');
  const action = entity(evaluation, 'action');
  const resource = entity(evaluation, 'resource');
  field(subject, 'subject', 'type');
  const subjectId = field(subject, 'subject', 'id');
  const name = field(action, 'action', 'name');
  const resourceType = field(resource, 'resource', 'type');
  const resourceId = field(resource, 'resource', 'id');
  const properties = optionalObject(action, 'properties', 'action.properties');
  optionalObject(subject, 'properties', 'subject.properties');
  optionalObject(resource, 'properties', 'resource.properties');
  const context = optionalObject(evaluation, 'context');

  const checkContext: Record<string, unknown> = {};
  for (const key of ACTION_PROPERTIES) if (properties[key] !== undefined) checkContext[key] = properties[key];
  if (evaluation.context !== undefined) checkContext.metadata = context;
  const check = { subject: { id: subjectId }, action: name, resource: { type: resourceType, id: resourceId }, context: checkContext };
  let request: CheckRequest;
  try {
    request = parseCheckRequest(check);
  } catch (error) {
    throw renamed(error);
  }
  return { request, warnings: warningsFor(subject, resource, context, properties) };
}
