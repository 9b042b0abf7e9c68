import type { ErrorDetail } from '../core/errors.js';
import { isPlainObject } from '../core/json-shape.js';
import { OBJECT_PATTERN, usersetGroup } from './document.js';
import { GroupGraph } from './groups.js';

/**
 * Checks what the schema cannot: that relationships name registered actors and groups that
 * exist, and that groups do not nest in a cycle. Runs on the raw document, skipping parts
 * the schema already rejected, so one run reports structural and reference errors together.
 */

function arrayAt(value: unknown, key: string): unknown[] {
  return isPlainObject(value) && Array.isArray(value[key]) ? (value[key] as unknown[]) : [];
}

/** Builds the group graph from the well-formed member tuples of a (possibly invalid) document. */
function groupGraphOf(relationships: readonly unknown[]): GroupGraph {
  const graph = new GroupGraph();
  relationships.forEach((rel, index) => {
    if (!isPlainObject(rel) || rel.relation !== 'member' || typeof rel.subject !== 'string') return;
    const match = typeof rel.object === 'string' ? OBJECT_PATTERN.exec(rel.object) : null;
    if (match?.[1] === 'group') graph.addMember(match[2]!, rel.subject, index);
  });
  return graph;
}

/** The document's group graph, for `checkReferences` and then, once valid, for compiling. */
export function groupGraphOfDocument(document: unknown): GroupGraph {
  return groupGraphOf(arrayAt(document, 'relationships'));
}

/** The first `limit` reference errors, and how many more there are. */
export function checkReferences(document: unknown, graph: GroupGraph, limit: number): { readonly errors: ErrorDetail[]; readonly more: number } {
  const errors: ErrorDetail[] = [];
  let more = 0;
  const report = (path: string, message: string): void => {
    if (errors.length < limit) errors.push({ path, message });
    else more++;
  };
  const actors = arrayAt(document, 'actors');
  const relationships = arrayAt(document, 'relationships');
  const actorNames = new Set(actors.map((actor) => (isPlainObject(actor) ? actor.name : undefined)));

  /** The group a userset names when no relationship gives it members, else undefined. */
  const memberless = (subject: unknown): string | undefined => {
    const group = typeof subject === 'string' ? usersetGroup(subject) : undefined;
    return group !== undefined && !graph.has(group) ? group : undefined;
  };
  const noMembers = (group: string) => `group ${group} has no members (no relationship group:${group}#member@...)`;

  actors.forEach((actor, a) => {
    arrayAt(actor, 'allowed_subjects').forEach((subject, s) => {
      const group = memberless(subject);
      if (group !== undefined) report(`actors[${a}].allowed_subjects[${s}]`, noMembers(group));
    });
  });
  relationships.forEach((rel, index) => {
    if (!isPlainObject(rel)) return;
    const match = typeof rel.object === 'string' ? OBJECT_PATTERN.exec(rel.object) : null;
    if (match?.[1] === 'actor' && !actorNames.has(match[2])) {
      report(`relationships[${index}].object`, `actor ${match[2]} is not registered`);
    }
    const group = memberless(rel.subject);
    if (group !== undefined) report(`relationships[${index}].subject`, noMembers(group));
  });
  const cycles = graph.findCycles(Math.max(0, limit - errors.length));
  for (const cycle of cycles.cycles) {
    report(`relationships[${cycle.index}]`, `group membership cycle: ${cycle.groups.map((g) => `group:${g}`).join(' -> ')}`);
  }
  return { errors, more: more + cycles.more };
}
