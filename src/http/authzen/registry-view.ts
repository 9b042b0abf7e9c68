import type { CompiledRegistry } from '../../registry/compiled-registry.js';

/** A subject that may sign for an actor, and the granted group it is a member of (none: granted directly). */
export interface EffectiveSubject {
  readonly id: string;
  readonly group?: string;
}

/** The groups from the granted one down to the subject's own: spelled out only for the results on a page. */
export function viaGroup(registry: CompiledRegistry, group: string, subject: string): readonly string[] {
  return registry.groupPath(group, subject) ?? [group];
}

/**
 * Every subject that may sign for the actor, in the order a check looks (direct grants first,
 * then each granted group's members), each once, with the group a check's trace would start from.
 * Deterministic for a revision: the document's order, not a hash order.
 */
export function effectiveSubjects(registry: CompiledRegistry, actorName: string): EffectiveSubject[] {
  const grants = registry.grantsOf(actorName);
  if (grants === undefined) return [];
  const seen = new Set<string>();
  const result: EffectiveSubject[] = [];
  for (const id of grants.subjects) {
    if (!seen.has(id)) {
      seen.add(id);
      result.push({ id });
    }
  }
  for (const group of grants.groups) {
    for (const id of registry.groupMembers(group)) {
      if (!seen.has(id)) {
        seen.add(id);
        result.push({ id, group });
      }
    }
  }
  return result;
}
