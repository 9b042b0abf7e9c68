import { certificateProfile } from '../core/certificate.js';
import { parseDuration } from '../core/duration.js';
import { ACTOR_TYPES } from '../core/types.js';
import type { Actor, ActorType, PolicyRegistry, TtlBounds } from '../core/types.js';
import { tuple, usersetGroup } from './document.js';
import type { ActorEntry, Duration, RegistryDocument, RegistryMetadata, RelationshipTuple } from './document.js';
import type { GroupGraph, GroupMembership } from './groups.js';
import { REVISION_PATTERN } from './revision.js';

const DEFAULT_ACTIONS = ['sign'];
const DEFAULT_MIN_TTL_SECONDS = 1;
/** Subjects granted directly: a list while few (most actors have one or two), a set beyond. */
type Subjects = readonly string[] | ReadonlySet<string>;
const LIST_LIMIT = 16;

function hasSubject(subjects: Subjects, subject: string): boolean {
  return subjects instanceof Set ? subjects.has(subject) : (subjects as readonly string[]).includes(subject);
}

/**
 * An actor as compiled, with whom it lets sign: what `actor()` returns (an `Actor`), so that a
 * check finds the actor and its signers with one lookup, and a 100,000-actor registry keeps one
 * map of them rather than three.
 */
interface CompiledActor extends Actor {
  /** Subjects granted by the actor's own `allowed_subjects`, or undefined. */
  readonly listed: Subjects | undefined;
  /** Subjects granted directly by `actor:NAME#signer@SUBJECT` tuples, or undefined. */
  readonly signers: Subjects | undefined;
  /** Groups whose members are granted, first declared first, or undefined. */
  readonly signerGroups: readonly string[] | undefined;
}

/** Adds a value unless present: a list while short, a set past LIST_LIMIT (an actor may have thousands). */
function withDistinct(values: string[] | Set<string> | undefined, value: string): string[] | Set<string> {
  if (values === undefined) return [value];
  if (values instanceof Set) return values.add(value);
  if (values.includes(value)) return values;
  values.push(value);
  return values.length > LIST_LIMIT ? new Set(values) : values;
}

type Grants = Pick<CompiledActor, 'listed' | 'signers' | 'signerGroups'>;

/** Lists copied to their exact size: a pushed array keeps spare room, 100,000 times over. */
function exact(subjects: string[] | Set<string> | undefined): Subjects | undefined {
  return subjects instanceof Set ? subjects : subjects?.slice();
}

/**
 * `name` itself when `value` is equal to it. Most actors sign as themselves and are asked for by
 * themselves, and each parsed copy of the name is a string of its own: sharing one keeps a
 * 100,000-actor registry about 200,000 strings smaller, less for every major GC to mark.
 */
function sameAs(name: string, value: string): string {
  // Stryker disable next-line all: equal strings either way; only the memory differs.
  return value === name ? name : value;
}

/**
 * Splits granted subjects into those the actor lists, those signer tuples name, and usersets'
 * groups, without duplicates, in order.
 */
function grantsOf(name: string, listedSubjects: readonly string[], tupleSubjects: readonly string[]): Grants {
  let listed: string[] | Set<string> | undefined;
  let signers: string[] | Set<string> | undefined;
  let groups: string[] | Set<string> | undefined;
  const add = (subject: string, fromList: boolean): void => {
    const group = usersetGroup(subject);
    if (group !== undefined) groups = withDistinct(groups, group);
    else if (fromList) listed = withDistinct(listed, sameAs(name, subject));
    else signers = withDistinct(signers, sameAs(name, subject));
  };
  for (const subject of listedSubjects) add(subject, true);
  for (const subject of tupleSubjects) add(subject, false);
  return { listed: exact(listed), signers: exact(signers), signerGroups: groups === undefined ? undefined : [...groups] };
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
 * The per-actor part of compilation, which grows with the registry: each actor with the
 * subjects and groups it grants, equal actions and ttls shared. Actors can be added in batches,
 * so that a reload of a large registry gives the event loop back between them.
 */
class ActorIndex {
  readonly actors = new Map<string, CompiledActor>();
  readonly byType = Object.fromEntries(ACTOR_TYPES.map((type) => [type, 0])) as Record<ActorType, number>;
  readonly actionSets = new Interner<ReadonlySet<string>>();
  private readonly ttls = new Interner<TtlBounds>();
  /** Signer tuples by actor, in document order, after the actor's own allowed_subjects. */
  private readonly signerTuples = new Map<string, string[]>();

  constructor(relationships: readonly RelationshipTuple[]) {
    for (const rel of relationships) {
      if (rel.relation !== 'signer') continue;
      const name = rel.object.slice('actor:'.length);
      const subjects = this.signerTuples.get(name);
      if (subjects) subjects.push(rel.subject);
      else this.signerTuples.set(name, [rel.subject]);
    }
  }

  add(entries: readonly ActorEntry[]): void {
    for (const entry of entries) {
      const actor = this.compile(entry, grantsOf(entry.name, entry.allowed_subjects ?? [], this.signerTuples.get(entry.name) ?? []));
      this.actors.set(actor.name, actor);
      this.byType[actor.type] += 1;
    }
  }

  private compile(entry: ActorEntry, grants: Grants): CompiledActor {
    const actions = entry.actions ?? DEFAULT_ACTIONS;
    const ttl = {
      default: seconds(entry.ttl.default),
      min: entry.ttl.min === undefined ? DEFAULT_MIN_TTL_SECONDS : seconds(entry.ttl.min),
      max: seconds(entry.ttl.max),
    };
    return Object.freeze({
      name: entry.name,
      type: entry.type,
      actions: this.actionSets.get(actions.length === 1 ? actions[0]! : actions.join(' '), () => new Set(actions)),
      principals: Object.freeze(entry.principals.map((principal) => sameAs(entry.name, principal))),
      ttl: this.ttls.get(`${ttl.default}/${ttl.min}/${ttl.max}`, () => Object.freeze(ttl)),
      disabled: entry.disabled ?? false,
      // Compiled once here, so a check reads the actor's defaults and allocates nothing for them.
      certificate: certificateProfile(entry.certificate),
      listed: grants.listed,
      signers: grants.signers,
      signerGroups: grants.signerGroups,
    });
  }
}

/**
 * A validated registry compiled for lookups: actors by name, each with the subjects and groups
 * it grants, computed once at load, and group membership, whose transitive part is found by
 * the checks that need it and remembered (see `GroupMembership`), so that a check is a few map
 * lookups. Relationship paths are spelled out only when a trace asks for them.
 * Build it with `loadRegistry`, which validates first.
 */
export class CompiledRegistry implements PolicyRegistry {
  readonly revision: string;
  readonly metadata: RegistryMetadata;
  readonly counts: RegistryCounts;
  /** Every action some actor has: the only values the decisions metric may use as a label. */
  readonly actions: ReadonlySet<string>;

  private readonly actors: ReadonlyMap<string, CompiledActor>;
  private readonly groups: GroupMembership;

  /** `groups` is the document's group graph, already built (and found acyclic) by validation. */
  constructor(document: RegistryDocument, revision: string, groups: GroupGraph, compiled?: ActorIndex) {
    // Every reply and decision line writes the revision unescaped (plain by construction, canonical-json.ts).
    if (!REVISION_PATTERN.test(revision)) throw new Error(`a registry revision is sha256: and 64 hex digits (got ${JSON.stringify(revision.slice(0, 80))})`);
    this.revision = revision;
    this.metadata = Object.freeze({ ...document.metadata });
    const relationships = document.relationships ?? [];
    let index = compiled;
    if (index === undefined) {
      index = new ActorIndex(relationships);
      index.add(document.actors);
    }
    this.actors = index.actors;
    // Every action some actor has is in one of the interned sets.
    const actions = new Set<string>();
    for (const set of index.actionSets.values()) for (const action of set) actions.add(action);
    this.groups = groups.membership();
    this.actions = actions;
    this.counts = Object.freeze({
      actors: this.actors.size,
      actors_by_type: Object.freeze(index.byType),
      relationships: relationships.length,
    });
    Object.freeze(this);
  }

  actor(name: string): Actor | undefined {
    return this.actors.get(name);
  }

  /** Every actor's name, in document order: for enumeration (search), not for checks. */
  actorNames(): IterableIterator<string> {
    return this.actors.keys();
  }

  /**
   * Whom an actor grants: subject ids directly (its `allowed_subjects`, then signer tuples) and
   * the groups whose members it grants, each in document order; undefined for an unknown actor.
   */
  grantsOf(actorName: string): { readonly subjects: readonly string[]; readonly groups: readonly string[] } | undefined {
    const actor = this.actors.get(actorName);
    if (actor === undefined) return undefined;
    const subjects = new Set([...(actor.listed ?? []), ...(actor.signers ?? [])]);
    return { subjects: [...subjects], groups: actor.signerGroups ?? [] };
  }

  /** A group's members, nested groups resolved, in the order a check finds them. */
  groupMembers(group: string): readonly string[] {
    return this.groups.members(group);
  }

  /** The groups from `group` down to one that lists `subject` itself, or undefined. */
  groupPath(group: string, subject: string): readonly string[] | undefined {
    return this.groups.path(group, subject);
  }

  isSigner(actorName: string, subjectId: string): boolean {
    const actor = this.actors.get(actorName);
    if (actor === undefined) return false;
    if (actor.listed !== undefined && hasSubject(actor.listed, subjectId)) return true;
    if (actor.signers !== undefined && hasSubject(actor.signers, subjectId)) return true;
    if (actor.signerGroups === undefined) return false;
    for (const group of actor.signerGroups) if (this.groups.isMember(group, subjectId)) return true;
    return false;
  }

  signerPath(actorName: string, subjectId: string): readonly string[] | undefined {
    const actor = this.actors.get(actorName);
    if (actor === undefined) return undefined;
    // Listed subjects come from no tuple: say where the grant is rather than invent one.
    if (actor.listed !== undefined && hasSubject(actor.listed, subjectId)) return [`allowed_subjects: ${subjectId}`];
    const actorObject = `actor:${actorName}`;
    if (actor.signers !== undefined && hasSubject(actor.signers, subjectId)) return [tuple(actorObject, 'signer', subjectId)];
    for (const group of actor.signerGroups ?? []) {
      const groups = this.groups.path(group, subjectId);
      if (groups === undefined) continue;
      const path = [tuple(actorObject, 'signer', `group:${group}#member`)];
      for (let i = 1; i < groups.length; i++) path.push(tuple(`group:${groups[i - 1]!}`, 'member', `group:${groups[i]!}#member`));
      path.push(tuple(`group:${groups[groups.length - 1]!}`, 'member', subjectId));
      return path;
    }
    return undefined;
  }
}

/**
 * Compiles a valid document's actors batch by batch as they arrive: the reload path
 * (load-in-worker.ts), which hands over the relationships first, then the actors. Each batch is
 * compiled and let go before the next comes, so the parsed document never lives on this thread
 * whole: its leftovers die young instead of filling the old generation until a major GC marks
 * them during checks. Nothing is visible before `finish`.
 */
export class RegistryCompiler {
  private readonly index: ActorIndex;

  constructor(private readonly relationships: readonly RelationshipTuple[]) {
    this.index = new ActorIndex(relationships);
  }

  add(actors: readonly ActorEntry[]): void {
    this.index.add(actors);
  }

  /** The registry of the actors added, as the constructor would compile the whole document. */
  finish(head: Omit<RegistryDocument, 'actors' | 'relationships'>, revision: string, groups: GroupGraph): CompiledRegistry {
    // The actors are in the index already.
    return new CompiledRegistry({ ...head, actors: [], relationships: this.relationships }, revision, groups, this.index);
  }
}
