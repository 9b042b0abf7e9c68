import type { Actor } from '../../core/types.js';
import type { CompiledRegistry } from '../../registry/compiled-registry.js';
import type { MembershipStep } from '../../registry/groups.js';

/**
 * What search needs to enumerate and CompiledRegistry does not yet expose publicly: its
 * actors in document order, each actor's direct signers and granted groups, and each group's
 * transitive members. Read here, in one place, through TypeScript's element-access escape
 * hatch, until the registry layer offers these as public accessors (asked for in the AuthZEN
 * change note); search's tests pin the behaviour either way.
 */
interface CompiledActorGrants extends Actor {
  readonly signers: readonly string[] | ReadonlySet<string> | undefined;
  readonly signerGroups: readonly string[] | undefined;
}

export interface RegistryView {
  readonly actors: ReadonlyMap<string, CompiledActorGrants>;
  readonly groupMembers: ReadonlyMap<string, ReadonlyMap<string, MembershipStep>>;
}

export function viewOf(registry: CompiledRegistry): RegistryView {
  return {
    actors: registry['actors'] as ReadonlyMap<string, CompiledActorGrants>,
    groupMembers: registry['groupMembers'] as ReadonlyMap<string, ReadonlyMap<string, MembershipStep>>,
  };
}

/** A subject that may sign for an actor, and the granted group it is a member of (none: granted directly). */
export interface EffectiveSubject {
  readonly id: string;
  readonly group?: string;
}

/** The groups from the granted one down to the subject's own: spelled out only for the results on a page. */
export function viaGroup(view: RegistryView, group: string, subject: string): string[] {
  const path = [group];
  let step = view.groupMembers.get(group)?.get(subject);
  while (step !== undefined && step !== null) {
    path.push(step);
    step = view.groupMembers.get(step)?.get(subject);
  }
  return path;
}

/**
 * Every subject that may sign for the actor, in the order a check looks (direct grants first,
 * then each granted group's members), each once, with the group a check's trace would start from.
 * Deterministic for a revision: the document's order, not a hash order.
 */
export function effectiveSubjects(view: RegistryView, actorName: string): EffectiveSubject[] {
  const actor = view.actors.get(actorName);
  if (actor === undefined) return [];
  const seen = new Set<string>();
  const result: EffectiveSubject[] = [];
  for (const id of actor.signers ?? []) {
    if (!seen.has(id)) {
      seen.add(id);
      result.push({ id });
    }
  }
  for (const group of actor.signerGroups ?? []) {
    for (const id of view.groupMembers.get(group)?.keys() ?? []) {
      if (!seen.has(id)) {
        seen.add(id);
        result.push({ id, group });
      }
    }
  }
  return result;
}
