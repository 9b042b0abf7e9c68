import { SUBJECT_ID_PATTERN } from '../core/check-request.js';
import type { ActorType } from '../core/types.js';

/** The registry document (`flex-auth.registry/v1`) after schema validation, defaults not yet applied. */
export interface RegistryDocument {
  readonly schema: 'flex-auth.registry/v1';
  readonly metadata?: RegistryMetadata;
  readonly actors: readonly ActorEntry[];
  readonly relationships?: readonly RelationshipTuple[];
}

export interface RegistryMetadata {
  readonly name?: string;
  readonly source?: string;
  readonly generated_at?: string;
}

export type Duration = number | string;

export interface ActorEntry {
  readonly name: string;
  readonly type: ActorType;
  readonly actions?: readonly string[];
  readonly principals: readonly string[];
  readonly ttl: { readonly default: Duration; readonly min?: Duration; readonly max: Duration };
  readonly allowed_subjects?: readonly string[];
  readonly disabled?: boolean;
}

/** `object#relation@subject`, OpenFGA style. */
export interface RelationshipTuple {
  readonly object: string;
  readonly relation: 'signer' | 'member';
  readonly subject: string;
}

export const SCHEMA_ID = 'flex-auth.registry/v1';

export const ACTOR_NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
export const GROUP_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const USERSET_PATTERN = /^group:([A-Za-z0-9][A-Za-z0-9._-]{0,127})#member$/;
export const OBJECT_PATTERN = /^(actor|group):(.+)$/;

export const ACTION_PATTERN = /^[a-z][a-z0-9_.:-]{0,63}$/;
export const PRINCIPAL_PATTERN = /^[^\s,]+$/;

/** A subject id (`agt-x`, `iam:agt-x`) or a userset (`group:NAME#member`). */
export function isSubjectReference(value: string): boolean {
  return USERSET_PATTERN.test(value) || (SUBJECT_ID_PATTERN.test(value) && !value.includes('#'));
}

/** `actor:NAME` or `group:NAME`, each name in its own form. */
export function isObjectReference(value: string): boolean {
  const match = OBJECT_PATTERN.exec(value);
  if (!match) return false;
  return match[1] === 'actor' ? ACTOR_NAME_PATTERN.test(match[2]!) : GROUP_NAME_PATTERN.test(match[2]!);
}

/** The only relation each kind of object has: `signer` on actors, `member` on groups. */
export function relationOf(object: string): 'signer' | 'member' | undefined {
  return object.startsWith('actor:') ? 'signer' : object.startsWith('group:') ? 'member' : undefined;
}

export function isTimestamp(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value));
}

/** `group:NAME#member` -> `NAME`, or undefined when the string is not a userset. */
export function usersetGroup(subject: string): string | undefined {
  // Most subjects are plain ids: spare them the pattern.
  return subject.startsWith('group:') ? USERSET_PATTERN.exec(subject)?.[1] : undefined;
}

export function tuple(object: string, relation: string, subject: string): string {
  return `${object}#${relation}@${subject}`;
}
