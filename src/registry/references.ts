import type { ErrorDetail } from '../core/errors.js';
import { OBJECT_PATTERN, usersetGroup } from './document.js';
import { GroupGraph } from './groups.js';

/**
 * Checks what the schema cannot: that relationships name registered actors and groups that
 * exist, and that groups do not nest in a cycle. Runs on the raw document, skipping parts
 * the schema already rejected, so one run reports structural and reference errors together.
 */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayAt(value: unknown, key: string): unknown[] {
  return isRecord(value) && Array.isArray(value[key]) ? (value[key] as unknown[]) : [];
}

/** Builds the group graph from the well-formed member tuples of a (possibly invalid) document. */
function groupGraphOf(relationships: readonly unknown[]): GroupGraph {
  const graph = new GroupGraph();
  relationships.forEach((rel, index) => {
    if (!isRecord(rel) || rel.relation !== 'member' || typeof rel.subject !== 'string') return;
    const match = typeof rel.object === 'string' ? OBJECT_PATTERN.exec(rel.object) : null;
    if (match?.[1] === 'group') graph.addMember(match[2]!, rel.subject, index);
  });
  return graph;
}

/** The document's group graph, for `checkReferences` and then, once valid, for compiling. */
export function groupGraphOfDocument(document: unknown): GroupGraph {
  return groupGraphOf(arrayAt(document, 'relationships'));
}

export function checkReferences(document: unknown, graph: GroupGraph = groupGraphOfDocument(document)): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const actors = arrayAt(document, 'actors');
  const relationships = arrayAt(document, 'relationships');
  const actorNames = new Set(actors.map((actor) => (isRecord(actor) ? actor.name : undefined)));

  /** The group a userset names when no relationship gives it members, else undefined. */
  const memberless = (subject: unknown): string | undefined => {
    const group = typeof subject === 'string' ? usersetGroup(subject) : undefined;
    return group !== undefined && !graph.has(group) ? group : undefined;
  };
  const noMembers = (group: string) => `group ${group} has no members (no relationship group:${group}#member@...)`;

  actors.forEach((actor, a) => {
    arrayAt(actor, 'allowed_subjects').forEach((subject, s) => {
      const group = memberless(subject);
      if (group !== undefined) errors.push({ path: `actors[${a}].allowed_subjects[${s}]`, message: noMembers(group) });
    });
  });
  relationships.forEach((rel, index) => {
    if (!isRecord(rel)) return;
    const match = typeof rel.object === 'string' ? OBJECT_PATTERN.exec(rel.object) : null;
    if (match?.[1] === 'actor' && !actorNames.has(match[2])) {
      errors.push({ path: `relationships[${index}].object`, message: `actor ${match[2]} is not registered` });
    }
    const group = memberless(rel.subject);
    if (group !== undefined) errors.push({ path: `relationships[${index}].subject`, message: noMembers(group) });
  });
  for (const cycle of graph.findCycles()) {
    errors.push({
      path: `relationships[${cycle.index}]`,
      message: `group membership cycle: ${cycle.groups.map((g) => `group:${g}`).join(' -> ')}`,
    });
  }
  return errors;
}
