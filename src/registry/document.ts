import type { CertificateSection } from '../core/certificate.js';
import { isSubjectId, subjectIdProblem } from '../core/patterns.js';
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
  /** What the actor's certificates may carry (contract section 14); absent: the defaults. */
  readonly certificate?: CertificateSection;
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

/** A subject id (`agt-x`, `iam:agt-x`) or a userset (`group:NAME#member`). */
export function isSubjectReference(value: string): boolean {
  return USERSET_PATTERN.test(value) || isSubjectId(value);
}

/** Why `value` is neither a subject id nor a userset, or undefined when it is one of them. */
export function subjectReferenceProblem(value: string): string | undefined {
  if (USERSET_PATTERN.test(value)) return undefined;
  // `group:ops` would grant a caller named so, never the group's members.
  if (value.startsWith('group:') && !value.includes('#')) return `names a group, not its members: write ${value}#member to grant the group's members`;
  const problem = subjectIdProblem(value);
  return problem === undefined ? undefined : `${problem}, or a userset group:NAME#member`;
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

/** RFC 3339 `date-time` (section 5.6), upper- or lower-case `T` and `Z`; a leap second may be 60. */
const TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** A real instant written as RFC 3339 requires: `2026-02-31T00:00:00Z` is not one. */
export function isTimestamp(value: string): boolean {
  const match = TIMESTAMP_PATTERN.exec(value);
  if (!match) return false;
  // Absent offset parts (a `Z`) count as 0.
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, offsetHour = 0, offsetMinute = 0] = match.slice(1).map((part) => Number(part ?? 0));
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) &&
    hour <= 23 && minute <= 59 && second <= 60 && offsetHour <= 23 && offsetMinute <= 59;
}

/** `group:NAME#member` -> `NAME`, or undefined when the string is not a userset. */
export function usersetGroup(subject: string): string | undefined {
  // Most subjects are plain ids: spare them the pattern.
  return subject.startsWith('group:') ? USERSET_PATTERN.exec(subject)?.[1] : undefined;
}

export function tuple(object: string, relation: string, subject: string): string {
  return `${object}#${relation}@${subject}`;
}
