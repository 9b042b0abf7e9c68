import { cidrContains } from '../core/cidr.js';
import type { Cidr } from '../core/cidr.js';
import type { CertificateProfile } from '../core/certificate.js';
import { formatDuration } from '../core/duration.js';
import type { AccessPath, ActorAccess, RegistryAccess } from './access.js';

/**
 * What changes in who may sign for what between two registries, per actor. Each kind says
 * whether it grants more (`widening`): a reviewer must say yes to those explicitly.
 * The kinds, in the order an actor's changes are listed (docs/ops-warden-registry-sync.md
 * documents them for users):
 */
export const CHANGE_KINDS = [
  'actor_added', 'actor_removed', 'actor_enabled', 'actor_disabled',
  'subjects_added', 'subjects_removed',
  'actions_added', 'actions_removed',
  'principals_added', 'principals_removed',
  'cert_types_added', 'cert_types_removed',
  'extensions_added', 'extensions_removed',
  'default_extensions_added', 'default_extensions_removed',
  'force_command_removed', 'force_command_added', 'force_command_changed',
  'source_address_unrestricted', 'source_address_restricted', 'source_address_widened', 'source_address_narrowed',
  'ttl_max_raised', 'ttl_max_lowered',
  'ttl_min_lowered', 'ttl_min_raised',
  'ttl_default_raised', 'ttl_default_lowered',
  'type_changed',
] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/**
 * Kinds that grant more. An added actor widens unless disabled; everything else is fixed by
 * its kind. A raised default ttl widens: callers that ask for no ttl get longer certificates;
 * so do default extensions added. A forced command removed or changed widens (the certificate
 * runs something the reviewed command did not); one added narrows. Source blocks that let a
 * certificate be used from an address it could not be used from before widen.
 */
const WIDENING: ReadonlySet<ChangeKind> = new Set<ChangeKind>([
  'actor_enabled', 'subjects_added', 'actions_added', 'principals_added',
  'cert_types_added', 'extensions_added', 'default_extensions_added',
  'force_command_removed', 'force_command_changed', 'source_address_unrestricted', 'source_address_widened',
  'ttl_max_raised', 'ttl_min_lowered', 'ttl_default_raised',
]);

export interface AccessChange {
  readonly actor: string;
  readonly change: ChangeKind;
  readonly values: readonly string[];
  readonly widening: boolean;
}

export interface RegistryDiff {
  readonly from: string;
  readonly to: string;
  readonly widening: boolean;
  readonly changes: readonly AccessChange[];
}

/** `iam:carol`, or `iam:carol via group:backup-operators > group:oncall` through groups. */
export function describeSubject(subject: string, path: AccessPath): string {
  return path.length === 0 ? subject : `${subject} via ${path.map((group) => `group:${group}`).join(' > ')}`;
}

function sortedSubjects(subjects: Map<string, AccessPath>, only?: (subject: string) => boolean): string[] {
  const chosen = [...subjects.keys()].filter((subject) => only === undefined || only(subject)).sort();
  return chosen.map((subject) => describeSubject(subject, subjects.get(subject)!));
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const value of a) if (!b.has(value)) return false;
  return true;
}

/** Equal lists, element by element: sorted lists, or group lists that kept their order. */
function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function added(before: readonly string[], after: readonly string[]): string[] {
  const had = new Set(before);
  return after.filter((value) => !had.has(value));
}

/** The blocks of `blocks` (texts beside their parsed forms) that no block of `within` contains. */
function uncovered(texts: readonly string[], blocks: readonly Cidr[], within: readonly Cidr[]): string[] {
  return texts.filter((_, i) => !within.some((outer) => cidrContains(outer, blocks[i]!)));
}

/** Certificate changes of one actor: types, extensions (allowed and default) and critical options. */
function certificateChanges(
  old: CertificateProfile, now: CertificateProfile,
  listChanges: (before: readonly string[], after: readonly string[], more: ChangeKind, fewer: ChangeKind) => void,
  push: (change: ChangeKind, values: readonly string[]) => void,
): void {
  listChanges([...old.types].sort(), [...now.types].sort(), 'cert_types_added', 'cert_types_removed');
  listChanges(old.allowedExtensions, now.allowedExtensions, 'extensions_added', 'extensions_removed');
  listChanges(old.defaultExtensions, now.defaultExtensions, 'default_extensions_added', 'default_extensions_removed');
  const was = old.criticalOptions;
  const is = now.criticalOptions;
  if (was.force_command !== is.force_command) {
    if (is.force_command === undefined) push('force_command_removed', [was.force_command!]);
    else if (was.force_command === undefined) push('force_command_added', [is.force_command]);
    else push('force_command_changed', [was.force_command, is.force_command]);
  }
  if (was.source_address === undefined && is.source_address === undefined) return;
  if (is.source_address === undefined) return push('source_address_unrestricted', was.source_address!);
  if (was.source_address === undefined) return push('source_address_restricted', is.source_address);
  const wider = uncovered(is.source_address, now.sourceNetworks, old.sourceNetworks);
  const narrower = uncovered(was.source_address, old.sourceNetworks, now.sourceNetworks);
  if (wider.length > 0) push('source_address_widened', wider);
  if (narrower.length > 0) push('source_address_narrowed', narrower);
}

/**
 * Compares effective access actor by actor. An actor's subjects are resolved only when its
 * grants or one of its groups' transitive members changed, so two large registries that
 * differ in a few actors diff in about the time it takes to load them.
 */
export function diffAccess(before: RegistryAccess, after: RegistryAccess): RegistryDiff {
  const changes: AccessChange[] = [];
  const push = (actor: string, change: ChangeKind, values: readonly string[], widening = WIDENING.has(change)) => {
    changes.push({ actor, change, values, widening });
  };

  // Whether a group's transitive members are the same on both sides, worked out once per group.
  const groupSame = new Map<string, boolean>();
  const sameGroup = (group: string): boolean => {
    let same = groupSame.get(group);
    if (same === undefined) {
      const a = before.groupMembers(group);
      const b = after.groupMembers(group);
      same = a.size === b.size && [...a].every((subject) => b.has(subject));
      groupSame.set(group, same);
    }
    return same;
  };
  const sameSubjects = (a: ActorAccess, b: ActorAccess): boolean =>
    sameSet(a.direct, b.direct) &&
    (sameList(a.groups, b.groups) || sameSet(new Set(a.groups), new Set(b.groups))) &&
    a.groups.every(sameGroup);
  const listChanges = (name: string, before: readonly string[], after: readonly string[], more: ChangeKind, fewer: ChangeKind) => {
    if (sameList(before, after)) return;
    const gained = added(before, after);
    const lost = added(after, before);
    if (gained.length > 0) push(name, more, gained);
    if (lost.length > 0) push(name, fewer, lost);
  };

  const names = new Set([...before.actors.keys(), ...after.actors.keys()]);
  for (const name of [...names].sort()) {
    const old = before.actors.get(name);
    const now = after.actors.get(name);
    if (old === undefined) {
      push(name, 'actor_added', sortedSubjects(after.subjects(now!)), !now!.disabled);
      continue;
    }
    if (now === undefined) {
      push(name, 'actor_removed', sortedSubjects(before.subjects(old)));
      continue;
    }
    if (old.disabled !== now.disabled) push(name, now.disabled ? 'actor_disabled' : 'actor_enabled', []);
    if (!sameSubjects(old, now)) {
      const was = before.subjects(old);
      const is = after.subjects(now);
      const gained = sortedSubjects(is, (subject) => !was.has(subject));
      const lost = sortedSubjects(was, (subject) => !is.has(subject));
      if (gained.length > 0) push(name, 'subjects_added', gained);
      if (lost.length > 0) push(name, 'subjects_removed', lost);
    }
    listChanges(name, old.actions, now.actions, 'actions_added', 'actions_removed');
    listChanges(name, old.principals, now.principals, 'principals_added', 'principals_removed');
    if (old.certificate !== now.certificate) {
      certificateChanges(old.certificate, now.certificate, (a, b, more, fewer) => listChanges(name, a, b, more, fewer), (change, values) => push(name, change, values));
    }
    const ttl = (bound: 'max' | 'min' | 'default', up: ChangeKind, down: ChangeKind) => {
      if (old.ttl[bound] !== now.ttl[bound]) {
        push(name, now.ttl[bound] > old.ttl[bound] ? up : down, [formatDuration(old.ttl[bound]), formatDuration(now.ttl[bound])]);
      }
    };
    ttl('max', 'ttl_max_raised', 'ttl_max_lowered');
    ttl('min', 'ttl_min_raised', 'ttl_min_lowered');
    ttl('default', 'ttl_default_raised', 'ttl_default_lowered');
    if (old.type !== now.type) push(name, 'type_changed', [old.type, now.type]);
  }
  // No sort: actors are walked in name order, and each actor's changes are pushed in the order
  // of CHANGE_KINDS (a property test holds the two together).
  return { from: before.revision, to: after.revision, widening: changes.some((c) => c.widening), changes };
}
