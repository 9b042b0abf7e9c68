import { usersetGroup } from './document.js';

/** One `group:G#member@subject` edge, with the index of the relationship that declared it. */
interface MemberEdge {
  readonly subject: string;
  readonly index: number;
}

/**
 * How a subject is a member of a group: directly (`null`), or through the nested group named.
 * Paths are kept as these links, not copied arrays, so deep nesting stays linear in memory.
 */
export type MembershipStep = string | null;

export interface GroupCycle {
  /** Index of the relationship that closes the cycle. */
  readonly index: number;
  readonly groups: readonly string[];
}

/** The group membership graph of a registry's relationships. */
export class GroupGraph {
  private readonly members = new Map<string, MemberEdge[]>();

  /** Adds `group:G#member@subject`; malformed input is the schema's job and is ignored here. */
  addMember(group: string, subject: string, index: number): void {
    const edges = this.members.get(group);
    if (edges) edges.push({ subject, index });
    else this.members.set(group, [{ subject, index }]);
  }

  has(group: string): boolean {
    return this.members.has(group);
  }

  /** Every cycle, found by an iterative depth-first search (no recursion limit on deep nesting). */
  findCycles(): GroupCycle[] {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: GroupCycle[] = [];
    for (const root of this.members.keys()) {
      if (state.has(root)) continue;
      const stack: { group: string; edge: number }[] = [{ group: root, edge: 0 }];
      state.set(root, 'open');
      while (stack.length > 0) {
        const frame = stack[stack.length - 1]!;
        const edges = this.members.get(frame.group) ?? [];
        if (frame.edge >= edges.length) {
          state.set(frame.group, 'done');
          stack.pop();
          continue;
        }
        const edge = edges[frame.edge++]!;
        const child = usersetGroup(edge.subject);
        if (child === undefined || !this.members.has(child)) continue;
        const seen = state.get(child);
        if (seen === 'open') {
          const start = stack.findIndex((f) => f.group === child);
          cycles.push({ index: edge.index, groups: [...stack.slice(start).map((f) => f.group), child] });
        } else if (seen === undefined) {
          state.set(child, 'open');
          stack.push({ group: child, edge: 0 });
        }
      }
    }
    return cycles;
  }

  /**
   * For every group, every subject id that is a member directly or through nested groups,
   * with the first step of the (first declared, direct before nested) path. Requires no cycles.
   */
  closure(): Map<string, Map<string, MembershipStep>> {
    const result = new Map<string, Map<string, MembershipStep>>();
    const resolve = (root: string): void => {
      // Post-order without recursion: a group is resolved after all groups nested in it.
      const stack: { group: string; expanded: boolean }[] = [{ group: root, expanded: false }];
      while (stack.length > 0) {
        const frame = stack.pop()!;
        if (result.has(frame.group)) continue;
        const edges = this.members.get(frame.group) ?? [];
        if (!frame.expanded) {
          stack.push({ group: frame.group, expanded: true });
          for (const edge of edges) {
            const child = usersetGroup(edge.subject);
            if (child !== undefined && !result.has(child)) stack.push({ group: child, expanded: false });
          }
          continue;
        }
        const members = new Map<string, MembershipStep>();
        for (const edge of edges) {
          if (usersetGroup(edge.subject) === undefined && !members.has(edge.subject)) members.set(edge.subject, null);
        }
        for (const edge of edges) {
          const child = usersetGroup(edge.subject);
          if (child === undefined) continue;
          for (const subject of result.get(child)?.keys() ?? []) {
            if (!members.has(subject)) members.set(subject, child);
          }
        }
        result.set(frame.group, members);
      }
    };
    for (const group of this.members.keys()) resolve(group);
    return result;
  }
}
