import { certificateProfile } from '../core/certificate.js';
import type { CertificateProfile } from '../core/certificate.js';
import { parseDuration } from '../core/duration.js';
import type { ActorType, TtlBounds } from '../core/types.js';
import { usersetGroup } from './document.js';
import type { Duration } from './document.js';
import type { GroupMembership } from './groups.js';
import { validateRegistryText } from './load.js';

/**
 * Effective access: what a registry lets whom do, per actor, with groups and nested groups
 * resolved and `actor:...#signer` tuples folded in. Built from the validated document (not
 * the compiled registry, which keeps only what a check needs) for `flex-auth diff`.
 */

export interface ActorAccess {
  readonly name: string;
  readonly type: ActorType;
  readonly disabled: boolean;
  /** Sorted. */
  readonly actions: readonly string[];
  /** Sorted. */
  readonly principals: readonly string[];
  readonly ttl: TtlBounds;
  /** Subject ids granted directly (allowed_subjects and signer tuples). */
  readonly direct: ReadonlySet<string>;
  /** Groups whose members are granted, first granted first (the order a check looks in). */
  readonly groups: readonly string[];
  /** What its certificates may carry (types, extensions, critical options). */
  readonly certificate: CertificateProfile;
}

/** How a subject reaches an actor: `[]` directly, else the groups from the granted one down. */
export type AccessPath = readonly string[];

export class RegistryAccess {
  readonly revision: string;
  readonly actors: ReadonlyMap<string, ActorAccess>;
  private readonly membership: GroupMembership;
  /** Members per group asked about: many actors share a group, and a diff asks about each once. */
  private readonly members = new Map<string, ReadonlySet<string>>();

  constructor(revision: string, actors: ReadonlyMap<string, ActorAccess>, membership: GroupMembership) {
    this.revision = revision;
    this.actors = actors;
    this.membership = membership;
  }

  /** Every subject id that is a member of `group`, directly or through nested groups, in the order a check finds them. */
  groupMembers(group: string): ReadonlySet<string> {
    let members = this.members.get(group);
    // Stryker disable next-line ConditionalExpression: members worked out again are the same.
    if (members === undefined) this.members.set(group, (members = new Set(this.membership.members(group))));
    return members;
  }

  /**
   * Every subject that may sign for the actor, with the path a check would find: direct
   * grants first, then the granted groups in order (as `CompiledRegistry.signerPath` does).
   */
  subjects(actor: ActorAccess): Map<string, AccessPath> {
    const result = new Map<string, AccessPath>();
    for (const subject of actor.direct) result.set(subject, []);
    for (const group of actor.groups) {
      for (const subject of this.groupMembers(group)) {
        if (!result.has(subject)) result.set(subject, this.pathVia(group, subject));
      }
    }
    return result;
  }

  private pathVia(group: string, subject: string): AccessPath {
    // Stryker disable next-line ArrayDeclaration: asked only for members of the group, which always have a path.
    return this.membership.path(group, subject) ?? [group];
  }
}

function seconds(value: Duration): number {
  const parsed = parseDuration(value);
  // Stryker disable next-line ConditionalExpression,StringLiteral: durations are validated before this.
  if (!parsed.ok) throw new Error(`unvalidated duration ${String(value)}`);
  return parsed.seconds;
}

/** Validates the text as a registry (every error, as `loadRegistry` reports them) and resolves its access. */
export function loadAccess(text: string): RegistryAccess {
  const { document: valid, groups: graph, revision } = validateRegistryText(text);
  const granted = new Map<string, string[]>();
  for (const entry of valid.actors) granted.set(entry.name, [...(entry.allowed_subjects ?? [])]);
  // Stryker disable next-line ArrayDeclaration: any string in place of the missing list is no signer tuple.
  for (const rel of valid.relationships ?? []) {
    if (rel.relation === 'signer') granted.get(rel.object.slice('actor:'.length))!.push(rel.subject);
  }

  const actors = new Map<string, ActorAccess>();
  for (const entry of valid.actors) {
    const direct = new Set<string>();
    const groups = new Set<string>();
    for (const subject of granted.get(entry.name)!) {
      const group = usersetGroup(subject);
      if (group === undefined) direct.add(subject);
      else groups.add(group);
    }
    actors.set(entry.name, {
      name: entry.name,
      type: entry.type,
      disabled: entry.disabled ?? false,
      actions: [...new Set(entry.actions ?? ['sign'])].sort(),
      principals: [...entry.principals].sort(),
      ttl: {
        default: seconds(entry.ttl.default),
        min: entry.ttl.min === undefined ? 1 : seconds(entry.ttl.min),
        max: seconds(entry.ttl.max),
      },
      direct,
      groups: [...groups],
      certificate: certificateProfile(entry.certificate),
    });
  }
  return new RegistryAccess(revision, actors, graph.membership());
}
