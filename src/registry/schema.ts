import { boolean, string, ValidationError } from 'yup';
import type { AnySchema } from 'yup';
import { isExtension } from '../core/certificate.js';
import { certTypeSchema, criticalOptionsSchema, extensionList } from '../core/certificate-schema.js';
import { parseDuration } from '../core/duration.js';
import { PRINCIPAL_HINT, PRINCIPAL_PATTERN } from '../core/patterns.js';
import { duration, list, strictObject, text, uniqueItems } from '../core/schema.js';
import { ACTOR_TYPES } from '../core/types.js';
import {
  ACTION_PATTERN, ACTOR_NAME_PATTERN, isObjectReference, isTimestamp, relationOf, SCHEMA_ID, subjectReferenceProblem,
} from './document.js';

/**
 * The strict shape of a `flex-auth.registry/v1` document. References between parts are checked
 * in references.ts. `registrySchema` is the whole rule set; loading applies the same rules as
 * `documentShellSchema` (the document without its items) plus `actorSchema` and
 * `relationshipSchema` item by item, so that it can stop once enough errors are listed.
 */

function subjectReference() {
  return text(300).test({
    name: 'subject-reference',
    test(value) {
      const problem = value === undefined ? undefined : subjectReferenceProblem(value);
      return problem === undefined || this.createError({ message: problem });
    },
  });
}

function seconds(value: unknown, fallback?: number): number | undefined {
  const parsed = parseDuration(value);
  return parsed.ok ? parsed.seconds : fallback;
}

const ttlSchema = strictObject({
  default: duration().required('is required'),
  min: duration(),
  max: duration().required('is required'),
})
  .required('is required')
  .test({
    name: 'ttl-order',
    test(ttl) {
      if (!ttl) return true;
      const min = ttl.min === undefined ? 1 : seconds(ttl.min);
      const def = seconds(ttl.default);
      const max = seconds(ttl.max);
      const errors: ValidationError[] = [];
      if (min !== undefined && def !== undefined && min > def) {
        errors.push(this.createError({ path: `${this.path}.min`, message: 'must be <= ttl.default' }));
      }
      if (def !== undefined && max !== undefined && def > max) {
        errors.push(this.createError({ path: `${this.path}.max`, message: 'must be >= ttl.default' }));
      }
      return errors.length === 0 || new ValidationError(errors);
    },
  });

const certificateSchema = strictObject({
  types: list(certTypeSchema())
    .min(1, 'must not be empty (omit it for ["user"])')
    .test({ name: 'unique-types', test: uniqueItems('certificate type') }),
  extensions: strictObject({
    allowed: extensionList().required('is required'),
    default: extensionList(),
  }).test({
    name: 'default-within-allowed',
    test(extensions) {
      if (!extensions || !Array.isArray(extensions.allowed) || !Array.isArray(extensions.default)) return true;
      const allowed = extensions.allowed as unknown[];
      const errors = (extensions.default as unknown[]).flatMap((name, index) =>
        typeof name === 'string' && isExtension(name) && !allowed.includes(name)
          ? [this.createError({ path: `${this.path}.default[${index}]`, message: `${name} must also be in extensions.allowed` })]
          : []);
      return errors.length === 0 || new ValidationError(errors);
    },
  }),
  critical_options: criticalOptionsSchema(),
});

export const actorSchema = strictObject({
  name: text(256).matches(ACTOR_NAME_PATTERN, 'must match ^[a-z][a-z0-9-]{0,62}$'),
  type: string().strict().required('is required').typeError('must be a string')
    .oneOf(ACTOR_TYPES, `must be one of ${ACTOR_TYPES.join(', ')}`),
  actions: list(text(64).matches(ACTION_PATTERN, 'must be a lower-case action name such as sign'))
    .min(1, 'must not be empty (omit it for the default ["sign"])')
    .test({ name: 'unique-actions', test: uniqueItems('action') }),
  principals: list(text(256).matches(PRINCIPAL_PATTERN, PRINCIPAL_HINT))
    .required('is required')
    .min(1, 'must not be empty')
    .test({ name: 'unique-principals', test: uniqueItems('principal') }),
  ttl: ttlSchema,
  allowed_subjects: list(subjectReference())
    .test({ name: 'unique-subjects', test: uniqueItems('subject') }),
  disabled: boolean().strict().typeError('must be true or false').nonNullable('must be true or false'),
  certificate: certificateSchema,
});

export const relationshipSchema = strictObject({
  object: text(200).test({
    name: 'object',
    message: 'must be actor:NAME or group:NAME',
    test: (value) => value === undefined || isObjectReference(value),
  }),
  relation: string().strict().required('is required').typeError('must be a string')
    .oneOf(['signer', 'member'], 'must be signer (on actor:) or member (on group:)'),
  subject: subjectReference(),
}).test({
  name: 'relation-fits-object',
  test(rel) {
    if (!rel || typeof rel.object !== 'string') return true;
    const expected = relationOf(rel.object);
    if (!expected || rel.relation === expected || !['signer', 'member'].includes(rel.relation as string)) return true;
    return this.createError({ path: `${this.path}.relation`, message: `must be ${expected} on ${expected === 'signer' ? 'actor' : 'group'} objects` });
  },
});

function documentSchema(actor: AnySchema | undefined, relationship: AnySchema | undefined) {
  return strictObject({
    schema: string().strict().required('is required').typeError('must be a string')
      .oneOf([SCHEMA_ID], `must be "${SCHEMA_ID}"`),
    metadata: strictObject({
      name: text(253).optional(),
      source: text(253).optional(),
      generated_at: text(64).optional().test({
        name: 'timestamp',
        message: 'must be an RFC 3339 timestamp such as 2026-06-23T12:00:00Z',
        test: (value) => value === undefined || isTimestamp(value),
      }),
    }),
    actors: list(actor)
      .required('is required')
      .min(1, 'must list at least one actor')
      .test({ name: 'unique-actor-names', test: uniqueItems('actor name', (entry: { name?: unknown }) => entry?.name, '.name') }),
    relationships: list(relationship),
  }).required('registry must be a JSON object');
}

export const registrySchema = documentSchema(actorSchema, relationshipSchema);
export const documentShellSchema = documentSchema(undefined, undefined);
