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
      // Stryker disable next-line ConditionalExpression: walking a finished root again finds no new cycle, all it reaches is done.
      if (state.has(root)) continue;
      const stack: { group: string; edge: number }[] = [{ group: root, edge: 0 }];
      state.set(root, 'open');
      while (stack.length > 0) {
        const frame = stack[stack.length - 1]!;
        // Stryker disable next-line ArrayDeclaration: only groups with members are ever pushed.
        const edges = this.members.get(frame.group) ?? [];
        if (frame.edge >= edges.length) {
          // Stryker disable next-line StringLiteral: any mark but 'open' and none means done.
          state.set(frame.group, 'done');
          stack.pop();
          continue;
        }
        const edge = edges[frame.edge++]!;
        const child = usersetGroup(edge.subject);
        // Stryker disable next-line ConditionalExpression: a subject or a group without members, walked, has no edge to follow.
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
      // Stryker disable next-line ConditionalExpression: validation refuses a tuple given twice, so no value comes twice.
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

/**
 * Group membership, transitive through nesting. Rather than every group's full member set (a
 * chain of n nested groups holds n²/2 memberships), a check walks up from the groups that list
 * the subject towards the group it asks about, remembering for that group which groups reach
 * it: over all checks, each group is walked once per group asked about, and a repeated check
 * is a few lookups. The memory for what is remembered is bounded; past it, it is forgotten.
 */
export class GroupMembership {
  static readonly MAX_REMEMBERED = 200_000;
  /** Group asked about -> group -> whether that group is nested in it (or is it). */
  private readonly reaching = new Map<string, Map<string, boolean>>();
  private remembered = 0;

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

  /** Whether `subject` is a member of `group`, directly or through nested groups. */
  isMember(group: string, subject: string): boolean {
    const direct = this.directGroups.get(subject);
    if (direct === undefined) return false;
    for (const start of direct) if (this.reaches(start, group)) return true;
    return false;
  }

  /** Whether `from` is `target` or nested in it at any depth: a depth-first walk up, without recursion. */
  private reaches(from: string, target: string): boolean {
    // Stryker disable ConditionalExpression,EqualityOperator,BlockStatement: when remembered answers are forgotten changes only speed and memory.
    if (this.remembered > GroupMembership.MAX_REMEMBERED) {
      this.reaching.clear();
      this.remembered = 0;
    }
    // Stryker restore ConditionalExpression,EqualityOperator,BlockStatement
    let known = this.reaching.get(target);
    // Stryker disable next-line ConditionalExpression: remembered answers forgotten are found again the same.
    if (known === undefined) this.reaching.set(target, (known = new Map([[target, true]])));
    const answer = known.get(from);
    // Stryker disable next-line ConditionalExpression: a remembered answer worked out again is the same.
    if (answer !== undefined) return answer;
    const stack = [from];
    while (stack.length > 0) {
      const group = stack[stack.length - 1]!;
      if (known.has(group)) {
        stack.pop();
        continue;
      }
      let waiting = false;
      let reached = false;
      for (const parent of this.parentGroups.get(group) ?? []) {
        const answer = known.get(parent);
        if (answer === true) {
          reached = true;
          break;
        }
        if (answer === undefined) {
          stack.push(parent);
          waiting = true;
        }
      }
      if (reached || !waiting) {
        known.set(group, reached);
        // Stryker disable next-line UpdateOperator: counts only towards forgetting, which changes no answer.
        this.remembered++;
        stack.pop();
      }
    }
    return known.get(from)!;
  }

  /**
   * Every subject id that is a member of `group`, directly or through nested groups, each once,
   * in the order a check finds them: the group's own subjects, then each nested group's, in
   * declaration order, depth first. One walk over the subtree; no group's full member set is
   * kept, so a deep chain stays linear. For enumeration (search, diff), never on a check's path.
   */
  members(group: string): string[] {
    const seen = new Set<string>();
    const visited = new Set<string>();
    const members: string[] = [];
    const stack = [group];
    while (stack.length > 0) {
      const current = stack.pop()!;
      // Stryker disable next-line ConditionalExpression: a group walked again adds no subject not yet seen, in the same order.
      if (visited.has(current)) continue;
      visited.add(current);
      for (const subject of this.directMembers.get(current) ?? []) {
        if (seen.has(subject)) continue;
        seen.add(subject);
        members.push(subject);
      }
      // Stryker disable next-line ArrayDeclaration: any name in place of a leaf's missing list is walked as a group without members.
      const nested = this.nestedGroups.get(current) ?? [];
      // Stryker disable next-line ArithmeticOperator: the entries past the end are undefined, walked as an empty group.
      for (let i = nested.length - 1; i >= 0; i--) stack.push(nested[i]!);
    }
    return members;
  }

  /**
   * The groups from `group` down to one that lists `subject` itself, following at each level
   * the first declared way (the subject itself before nested groups), or undefined when
   * `subject` is not a member. A depth-first walk down that skips groups already searched.
   */
  path(group: string, subject: string): readonly string[] | undefined {
    if (this.directMembers.get(group)?.has(subject)) return [group];
    const searched = new Set<string>();
    const path = [group];
    const nextChild = [0];
    while (path.length > 0) {
      const children = this.nestedGroups.get(path[path.length - 1]!) ?? [];
      const index = nextChild[nextChild.length - 1]!++;
      if (index >= children.length) {
        searched.add(path.pop()!);
        nextChild.pop();
        continue;
      }
      const child = children[index]!;
      // Stryker disable next-line ConditionalExpression: a group searched again still does not hold the subject.
      if (searched.has(child)) continue;
      path.push(child);
      nextChild.push(0);
      // Stryker disable next-line OptionalChaining: a nested group is always a declared one (validation).
      if (this.directMembers.get(child)?.has(subject)) return path;
    }
    return undefined;
  }
}
