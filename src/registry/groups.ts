import { usersetGroup } from './document.js';

/** One `group:G#member@subject` edge, with the index of the relationship that declared it. */
interface MemberEdge {
  readonly subject: string;
  readonly index: number;
}

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

  /**
   * The cycles, found by an iterative depth-first search (no recursion limit on deep nesting):
   * the first `limit` spelt out, the rest only counted, since spelling one out costs its length.
   */
  findCycles(limit: number): { readonly cycles: GroupCycle[]; readonly more: number } {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: GroupCycle[] = [];
    let more = 0;
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
        if (seen === 'open' && cycles.length >= limit) {
          more++;
        } else if (seen === 'open') {
          const start = stack.findIndex((f) => f.group === child);
          cycles.push({ index: edge.index, groups: [...stack.slice(start).map((f) => f.group), child] });
        } else if (seen === undefined) {
          state.set(child, 'open');
          stack.push({ group: child, edge: 0 });
        }
      }
    }
    return { cycles, more };
  }

  /** Who is in which group, for checks; requires no cycles. */
  membership(): GroupMembership {
    const directGroups = new Map<string, string[]>();
    const parentGroups = new Map<string, string[]>();
    const directMembers = new Map<string, Set<string>>();
    const nestedGroups = new Map<string, string[]>();
    const append = (map: Map<string, string[]>, key: string, value: string): void => {
      const values = map.get(key);
      if (values === undefined) map.set(key, [value]);
      else if (!values.includes(value)) values.push(value);
    };
    for (const [group, edges] of this.members) {
      const direct = new Set<string>();
      for (const { subject } of edges) {
        const child = usersetGroup(subject);
        if (child === undefined) {
          direct.add(subject);
          append(directGroups, subject, group);
        } else {
          append(nestedGroups, group, child);
          append(parentGroups, child, group);
        }
      }
      directMembers.set(group, direct);
    }
    return new GroupMembership(directGroups, parentGroups, directMembers, nestedGroups);
  }
}

const NO_GROUPS: ReadonlySet<string> = new Set();

/**
 * Group membership, transitive through nesting. Rather than every group's full member set (a
 * chain of n nested groups holds n²/2 memberships), a subject's groups are found on its first
 * check by walking up from the groups that list it, and remembered: the next check is one
 * lookup. The memory for remembered sets is bounded; past it they are forgotten and recomputed.
 */
export class GroupMembership {
  static readonly MAX_REMEMBERED = 200_000;
  private readonly remembered = new Map<string, ReadonlySet<string>>();
  private rememberedSize = 0;

  constructor(
    /** Subject id -> groups that list it, in declaration order. */
    private readonly directGroups: ReadonlyMap<string, readonly string[]>,
    /** Group -> groups that nest it. */
    private readonly parentGroups: ReadonlyMap<string, readonly string[]>,
    /** Group -> subject ids it lists itself. */
    private readonly directMembers: ReadonlyMap<string, ReadonlySet<string>>,
    /** Group -> groups nested in it, in declaration order. */
    private readonly nestedGroups: ReadonlyMap<string, readonly string[]>,
  ) {}

  /** Every group `subject` is a member of, directly or through nested groups. */
  groupsOf(subject: string): ReadonlySet<string> {
    const direct = this.directGroups.get(subject);
    if (direct === undefined) return NO_GROUPS;
    let groups = this.remembered.get(subject);
    if (groups !== undefined) return groups;
    const found = new Set<string>(direct);
    for (const group of found) {
      // A Set iterates what is added while iterating: a breadth-first walk up without a queue.
      for (const parent of this.parentGroups.get(group) ?? []) found.add(parent);
    }
    groups = found;
    if (this.rememberedSize + found.size > GroupMembership.MAX_REMEMBERED) {
      this.remembered.clear();
      this.rememberedSize = 0;
    }
    this.remembered.set(subject, found);
    this.rememberedSize += found.size;
    return groups;
  }

  /**
   * The groups from `group` down to one that lists `subject` itself, following at each level
   * the first declared way (the subject itself before nested groups), or undefined when
   * `subject` is not a member.
   */
  path(group: string, subject: string): readonly string[] | undefined {
    const groups = this.groupsOf(subject);
    if (!groups.has(group)) return undefined;
    const path = [group];
    let current = group;
    while (!this.directMembers.get(current)!.has(subject)) {
      current = this.nestedGroups.get(current)!.find((child) => groups.has(child))!;
      path.push(current);
    }
    return path;
  }
}
