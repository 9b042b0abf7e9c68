import { parseDuration } from '../core/duration.js';
import { ACTOR_TYPES } from '../core/types.js';
import type { Actor, ActorType, PolicyRegistry } from '../core/types.js';
import { tuple, usersetGroup } from './document.js';
import type { ActorEntry, Duration, RegistryDocument, RegistryMetadata } from './document.js';
import type { MembershipStep } from './groups.js';
import { groupGraphOf } from './references.js';

const DEFAULT_ACTIONS = ['sign'];
const DEFAULT_MIN_TTL_SECONDS = 1;

export interface RegistryCounts {
  readonly actors: number;
  readonly actors_by_type: Readonly<Record<ActorType, number>>;
  readonly relationships: number;
}

/** A group that grants signing on an actor, and the tuple that says so. */
interface GroupGrant {
  readonly group: string;
  readonly via: string;
}

function seconds(value: Duration): number {
  const parsed = parseDuration(value);
  if (!parsed.ok) throw new Error(`unvalidated duration ${String(value)}`);
  return parsed.seconds;
}

function compileActor(entry: ActorEntry): Actor {
  return Object.freeze({
    name: entry.name,
    type: entry.type,
    actions: new Set(entry.actions ?? DEFAULT_ACTIONS),
    principals: Object.freeze([...entry.principals]),
    principalSet: new Set(entry.principals),
    ttl: Object.freeze({
      default: seconds(entry.ttl.default),
      min: entry.ttl.min === undefined ? DEFAULT_MIN_TTL_SECONDS : seconds(entry.ttl.min),
      max: seconds(entry.ttl.max),
    }),
    disabled: entry.disabled ?? false,
  });
}

/**
 * A validated registry compiled for lookups: actors by name, each actor's direct signers and
 * granting groups, and every group's transitive members, all computed once at load so that
 * a check is a few map lookups. Build it with `loadRegistry`, which validates first.
 */
export class CompiledRegistry implements PolicyRegistry {
  readonly revision: string;
  readonly metadata: RegistryMetadata;
  readonly counts: RegistryCounts;
  /** Every action some actor has: the only values the decisions metric may use as a label. */
  readonly actions: ReadonlySet<string>;

  private readonly actors = new Map<string, Actor>();
  private readonly directSigners = new Map<string, Map<string, string>>();
  private readonly groupGrants = new Map<string, GroupGrant[]>();
  private readonly groupMembers: Map<string, Map<string, MembershipStep>>;

  constructor(document: RegistryDocument, revision: string) {
    this.revision = revision;
    this.metadata = Object.freeze({ ...document.metadata });
    const relationships = document.relationships ?? [];

    const byType = Object.fromEntries(ACTOR_TYPES.map((type) => [type, 0])) as Record<ActorType, number>;
    const actions = new Set<string>();
    for (const entry of document.actors) {
      const actor = compileActor(entry);
      this.actors.set(actor.name, actor);
      byType[actor.type] += 1;
      actor.actions.forEach((action) => actions.add(action));
      for (const subject of entry.allowed_subjects ?? []) this.addSigner(actor.name, subject);
    }
    for (const rel of relationships) {
      if (rel.relation === 'signer') this.addSigner(rel.object.slice('actor:'.length), rel.subject);
    }
    this.groupMembers = groupGraphOf(relationships).closure();
    this.actions = actions;
    this.counts = Object.freeze({
      actors: this.actors.size,
      actors_by_type: Object.freeze(byType),
      relationships: relationships.length,
    });
    Object.freeze(this);
  }

  private addSigner(actorName: string, subject: string): void {
    const via = tuple(`actor:${actorName}`, 'signer', subject);
    const group = usersetGroup(subject);
    if (group === undefined) {
      let signers = this.directSigners.get(actorName);
      if (!signers) this.directSigners.set(actorName, (signers = new Map()));
      if (!signers.has(subject)) signers.set(subject, via);
      return;
    }
    const grants = this.groupGrants.get(actorName);
    if (grants) grants.push({ group, via });
    else this.groupGrants.set(actorName, [{ group, via }]);
  }

  actor(name: string): Actor | undefined {
    return this.actors.get(name);
  }

  signerPath(actorName: string, subjectId: string): readonly string[] | undefined {
    const direct = this.directSigners.get(actorName)?.get(subjectId);
    if (direct !== undefined) return [direct];
    for (const grant of this.groupGrants.get(actorName) ?? []) {
      let step = this.groupMembers.get(grant.group)?.get(subjectId);
      if (!step) continue;
      const path = [grant.via];
      while (step) {
        path.push(step.via);
        step = step.next === undefined ? undefined : this.groupMembers.get(step.next)?.get(subjectId);
      }
      return path;
    }
    return undefined;
  }
}
