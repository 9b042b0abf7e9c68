import { parseDuration } from '../core/duration.js';
import { ACTOR_TYPES } from '../core/types.js';
import type { Actor, ActorType, PolicyRegistry, TtlBounds } from '../core/types.js';
import { tuple, usersetGroup } from './document.js';
import type { ActorEntry, Duration, RegistryDocument, RegistryMetadata } from './document.js';
import type { GroupGraph, MembershipStep } from './groups.js';

const DEFAULT_ACTIONS = ['sign'];
const DEFAULT_MIN_TTL_SECONDS = 1;
/** Subjects granted directly: a list while few (most actors have one or two), a set beyond. */
type Subjects = string[] | Set<string>;
const LIST_LIMIT = 16;

/** Lists are copied to their exact size, not pushed to: a pushed array keeps spare room, 100,000 times over. */
function withSubject(subjects: Subjects | undefined, subject: string): Subjects {
  if (subjects === undefined) return [subject];
  if (subjects instanceof Set) return subjects.add(subject);
  if (subjects.includes(subject)) return subjects;
  return subjects.length < LIST_LIMIT ? [...subjects, subject] : new Set([...subjects, subject]);
}

function hasSubject(subjects: Subjects, subject: string): boolean {
  return subjects instanceof Set ? subjects.has(subject) : subjects.includes(subject);
}

export interface RegistryCounts {
  readonly actors: number;
  readonly actors_by_type: Readonly<Record<ActorType, number>>;
  readonly relationships: number;
}

function seconds(value: Duration): number {
  const parsed = parseDuration(value);
  if (!parsed.ok) throw new Error(`unvalidated duration ${String(value)}`);
  return parsed.seconds;
}

/** Shares equal values between actors: most have the same actions and many the same ttls. */
class Interner<T> {
  private readonly byKey = new Map<string, T>();

  values(): IterableIterator<T> {
    return this.byKey.values();
  }

  get(key: string, make: () => T): T {
    let value = this.byKey.get(key);
    if (value === undefined) this.byKey.set(key, (value = make()));
    return value;
  }
}

/**
 * A validated registry compiled for lookups: actors by name, the (actor, subject) pairs granted
 * directly, each actor's granting groups, and every group's transitive members, all computed
 * once at load so that a check is a few map lookups. Relationship paths are spelled out only
 * when a trace asks for them. Build it with `loadRegistry`, which validates first.
 */
export class CompiledRegistry implements PolicyRegistry {
  readonly revision: string;
  readonly metadata: RegistryMetadata;
  readonly counts: RegistryCounts;
  /** Every action some actor has: the only values the decisions metric may use as a label. */
  readonly actions: ReadonlySet<string>;

  private readonly actors = new Map<string, Actor>();
  private readonly directSigners = new Map<string, Subjects>();
  private readonly groupGrants = new Map<string, string[]>();
  private readonly groupMembers: Map<string, Map<string, MembershipStep>>;

  /** `groups` is the document's group graph, already built (and found acyclic) by validation. */
  constructor(document: RegistryDocument, revision: string, groups: GroupGraph) {
    this.revision = revision;
    this.metadata = Object.freeze({ ...document.metadata });
    const relationships = document.relationships ?? [];
    const actionSets = new Interner<ReadonlySet<string>>();
    const ttls = new Interner<TtlBounds>();

    const byType = Object.fromEntries(ACTOR_TYPES.map((type) => [type, 0])) as Record<ActorType, number>;
    for (const entry of document.actors) {
      const actor = this.compileActor(entry, actionSets, ttls);
      this.actors.set(actor.name, actor);
      byType[actor.type] += 1;
      const subjects = entry.allowed_subjects;
      if (subjects !== undefined) for (const subject of subjects) this.addSigner(actor.name, subject);
    }
    // Every action some actor has is in one of the interned sets.
    const actions = new Set<string>();
    for (const set of actionSets.values()) for (const action of set) actions.add(action);
    for (const rel of relationships) {
      if (rel.relation === 'signer') this.addSigner(rel.object.slice('actor:'.length), rel.subject);
    }
    this.groupMembers = groups.closure();
    this.actions = actions;
    this.counts = Object.freeze({
      actors: this.actors.size,
      actors_by_type: Object.freeze(byType),
      relationships: relationships.length,
    });
    Object.freeze(this);
  }

  private compileActor(entry: ActorEntry, actionSets: Interner<ReadonlySet<string>>, ttls: Interner<TtlBounds>): Actor {
    const actions = entry.actions ?? DEFAULT_ACTIONS;
    const ttl = {
      default: seconds(entry.ttl.default),
      min: entry.ttl.min === undefined ? DEFAULT_MIN_TTL_SECONDS : seconds(entry.ttl.min),
      max: seconds(entry.ttl.max),
    };
    return Object.freeze({
      name: entry.name,
      type: entry.type,
      actions: actionSets.get(actions.length === 1 ? actions[0]! : actions.join(' '), () => new Set(actions)),
      principals: Object.freeze([...entry.principals]),
      ttl: ttls.get(`${ttl.default}/${ttl.min}/${ttl.max}`, () => Object.freeze(ttl)),
      disabled: entry.disabled ?? false,
    });
  }

  private addSigner(actorName: string, subject: string): void {
    const group = usersetGroup(subject);
    if (group === undefined) {
      this.directSigners.set(actorName, withSubject(this.directSigners.get(actorName), subject));
      return;
    }
    const grants = this.groupGrants.get(actorName);
    if (!grants) this.groupGrants.set(actorName, [group]);
    else if (!grants.includes(group)) grants.push(group);
  }

  actor(name: string): Actor | undefined {
    return this.actors.get(name);
  }

  private isDirectSigner(actorName: string, subjectId: string): boolean {
    const subjects = this.directSigners.get(actorName);
    return subjects !== undefined && hasSubject(subjects, subjectId);
  }

  isSigner(actorName: string, subjectId: string): boolean {
    if (this.isDirectSigner(actorName, subjectId)) return true;
    const grants = this.groupGrants.get(actorName);
    if (grants === undefined) return false;
    for (const group of grants) if (this.groupMembers.get(group)?.has(subjectId)) return true;
    return false;
  }

  signerPath(actorName: string, subjectId: string): readonly string[] | undefined {
    const actorObject = `actor:${actorName}`;
    if (this.isDirectSigner(actorName, subjectId)) return [tuple(actorObject, 'signer', subjectId)];
    for (const group of this.groupGrants.get(actorName) ?? []) {
      let step = this.groupMembers.get(group)?.get(subjectId);
      if (step === undefined) continue;
      // Follow the links down the nested groups; the closure guarantees each holds the subject.
      const path = [tuple(actorObject, 'signer', `group:${group}#member`)];
      let current = group;
      while (step !== null) {
        path.push(tuple(`group:${current}`, 'member', `group:${step}#member`));
        current = step;
        step = this.groupMembers.get(current)!.get(subjectId)!;
      }
      path.push(tuple(`group:${current}`, 'member', subjectId));
      return path;
    }
    return undefined;
  }
}
