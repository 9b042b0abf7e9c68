/**
 * The forms of ids that check requests and registries share, in one place so that a subject or
 * principal valid in one is valid in the other.
 */

/** The resource type of the SSH signing policy, and the type a request without one asks about. */
export const SSH_ACTOR = 'ssh_actor';

/** Subject ids (`agt-x`, `iam:agt-x`); never a userset (no `#`), so a caller cannot pose as a group. */
export const SUBJECT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@:/+=-]*$/;
export const SUBJECT_ID_HINT = 'must be a subject id such as agt-x or iam:agt-x (letters, digits and ._@:/+=-)';

/**
 * `group:` and `actor:` name registry objects. A subject id spelt so is a typo for a userset
 * (`group:ops` for `group:ops#member`) that would grant a caller of that name instead of the
 * group's members, so both prefixes are reserved, in any case.
 */
const RESERVED_SUBJECT_PREFIX = /^(?:group|actor):/i;
export const RESERVED_SUBJECT_HINT =
  'must not start with group: or actor: (reserved for registry objects; a group\'s members are group:NAME#member)';

/** Why `value` is not a subject id, or undefined when it is one. */
export function subjectIdProblem(value: string): string | undefined {
  if (!SUBJECT_ID_PATTERN.test(value)) return SUBJECT_ID_HINT;
  return RESERVED_SUBJECT_PREFIX.test(value) ? RESERVED_SUBJECT_HINT : undefined;
}

export function isSubjectId(value: string): boolean {
  return SUBJECT_ID_PATTERN.test(value) && !RESERVED_SUBJECT_PREFIX.test(value);
}

/**
 * A certificate principal, in the registry and in requests: sshd splits principals at commas
 * and matches some patterns, so only a plain name passes, with no control or invisible characters.
 */
export const PRINCIPAL_PATTERN = /^[A-Za-z0-9._@-]{1,256}$/;
export const PRINCIPAL_HINT = 'must be 1-256 characters of letters, digits and ._@- (no wildcards, commas or whitespace)';
