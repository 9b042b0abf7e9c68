import { isCertType, isExtension, isPlainCriticalOptions } from '../core/certificate.js';
import { parseDuration } from '../core/duration.js';
import { isPlainObject, isText, onlyKeys } from '../core/json-shape.js';
import { PRINCIPAL_PATTERN } from '../core/patterns.js';
import { ACTOR_TYPES } from '../core/types.js';
import {
  ACTION_PATTERN, ACTOR_NAME_PATTERN, isObjectReference, isSubjectReference, isTimestamp, relationOf, SCHEMA_ID,
} from './document.js';

/**
 * A plain-code pass over a registry document that says yes only when the document plainly
 * meets every rule of the yup schema (schema.ts), using the same patterns. yup stays the
 * source of truth: a document (or item) this does not accept goes through yup for the verdict and
 * the error paths. Without it, yup's walk over a 100,000-actor registry takes seconds; with it, a
 * valid document costs one linear pass. A property test
 * (test/unit/registry/plain-validation.test.ts) checks it never accepts what yup rejects.
 */

/** A non-empty (when `nonEmpty`) array of distinct texts, each passing `test`. */
function isTextList(value: unknown, max: number, test: (item: string) => boolean, nonEmpty: boolean): value is string[] {
  if (!Array.isArray(value) || (nonEmpty && value.length === 0)) return false;
  for (const item of value) if (!isText(item, max) || !test(item)) return false;
  return isDistinct(value as string[]);
}

/** Short lists (nearly all of them) are compared in place rather than given a set each. */
function isDistinct(items: readonly string[]): boolean {
  if (items.length > 8) return new Set(items).size === items.length;
  for (let i = 1; i < items.length; i++) if (items.lastIndexOf(items[i]!, i - 1) !== -1) return false;
  return true;
}

function seconds(value: unknown): number | undefined {
  const parsed = parseDuration(value);
  return parsed.ok ? parsed.seconds : undefined;
}

function isPlainTtl(ttl: unknown): boolean {
  if (!isPlainObject(ttl) || !onlyKeys(ttl, ['default', 'min', 'max'])) return false;
  const def = seconds(ttl.default);
  const max = seconds(ttl.max);
  const min = ttl.min === undefined ? 1 : seconds(ttl.min);
  return def !== undefined && max !== undefined && min !== undefined && min <= def && def <= max;
}

function isPlainCertificate(certificate: unknown): boolean {
  if (!isPlainObject(certificate) || !onlyKeys(certificate, ['types', 'extensions', 'critical_options'])) return false;
  const { types, extensions, critical_options: options } = certificate;
  if (types !== undefined && !isTextList(types, 4, isCertType, true)) return false;
  if (extensions !== undefined) {
    if (!isPlainObject(extensions) || !onlyKeys(extensions, ['allowed', 'default'])) return false;
    const { allowed, default: defaults } = extensions;
    if (!isTextList(allowed, 64, isExtension, false)) return false;
    if (defaults !== undefined && !(isTextList(defaults, 64, isExtension, false) && defaults.every((name) => allowed.includes(name)))) return false;
  }
  return options === undefined || isPlainCriticalOptions(options);
}

/** One actor meets `actorSchema` (whether its name is unique is the document's question). */
export function isPlainActor(actor: unknown): boolean {
  if (!isPlainObject(actor) || !onlyKeys(actor, ['name', 'type', 'actions', 'principals', 'ttl', 'allowed_subjects', 'disabled', 'certificate'])) return false;
  if (typeof actor.name !== 'string' || !ACTOR_NAME_PATTERN.test(actor.name)) return false;
  if (!(ACTOR_TYPES as readonly unknown[]).includes(actor.type)) return false;
  if (actor.actions !== undefined && !isTextList(actor.actions, 64, (a) => ACTION_PATTERN.test(a), true)) return false;
  if (!isTextList(actor.principals, 256, (p) => PRINCIPAL_PATTERN.test(p), true)) return false;
  if (!isPlainTtl(actor.ttl)) return false;
  if (actor.allowed_subjects !== undefined && !isTextList(actor.allowed_subjects, 300, isSubjectReference, false)) return false;
  if (actor.certificate !== undefined && !isPlainCertificate(actor.certificate)) return false;
  return actor.disabled === undefined || typeof actor.disabled === 'boolean';
}

/** One relationship meets `relationshipSchema`. */
export function isPlainRelationship(rel: unknown): boolean {
  if (!isPlainObject(rel) || !onlyKeys(rel, ['object', 'relation', 'subject'])) return false;
  const { object, relation, subject } = rel;
  return isText(object, 200) && isObjectReference(object) && relation === relationOf(object) && isText(subject, 300) && isSubjectReference(subject);
}

function isPlainMetadata(metadata: unknown): boolean {
  if (!isPlainObject(metadata) || !onlyKeys(metadata, ['name', 'source', 'generated_at'])) return false;
  const { name, source, generated_at: generatedAt } = metadata;
  return (name === undefined || isText(name, 253)) &&
    (source === undefined || isText(source, 253)) &&
    (generatedAt === undefined || (isText(generatedAt, 64) && isTimestamp(generatedAt)));
}

/** True only if the document meets every rule of the registry schema (references are checked elsewhere). */
export function plainlyMeetsSchema(document: unknown): boolean {
  if (!isPlainObject(document) || !onlyKeys(document, ['schema', 'metadata', 'actors', 'relationships'])) return false;
  if (document.schema !== SCHEMA_ID) return false;
  if (document.metadata !== undefined && !isPlainMetadata(document.metadata)) return false;
  const { actors, relationships } = document;
  if (!Array.isArray(actors) || actors.length === 0) return false;
  const names = new Set<string>();
  for (const actor of actors) {
    if (!isPlainActor(actor)) return false;
    const { name } = actor as { name: string };
    if (names.has(name)) return false;
    names.add(name);
  }
  if (relationships === undefined) return true;
  if (!Array.isArray(relationships)) return false;
  for (const rel of relationships) if (!isPlainRelationship(rel)) return false;
  return true;
}
