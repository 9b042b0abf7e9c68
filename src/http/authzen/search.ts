import { hash } from 'node:crypto';
import { configure } from 'safe-stable-stringify';
import { decide } from '../../core/decide.js';
import { InvalidRequestError } from '../../core/errors.js';
import type { CheckRequest } from '../../core/types.js';
import type { CompiledRegistry } from '../../registry/compiled-registry.js';
import { effectiveSubjects, viaGroup } from './registry-view.js';
import type { EffectiveSubject } from './registry-view.js';
import { entity, field, isObject, mapEvaluation, RESOURCE_TYPE, SUBJECT_TYPE } from './request.js';
import type { Entity } from './request.js';

export type SearchKind = 'subject' | 'resource' | 'action';

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;
/** Effective-subject lists kept per revision: the actors being paged through now, not every actor. */
const CACHED_ACTORS = 64;

/** A stand-in for the searched entity's id, so the other entities map (and validate) once. */
const PLACEHOLDER = 'x';

function invalid(path: string, message: string): InvalidRequestError {
  return new InvalidRequestError(`${path} ${message}`, [{ path, message }]);
}

/**
 * The search as one evaluation with the searched entity's id left open: the input entities
 * are validated exactly as an evaluation's (a missing one or a missing input id is a 400),
 * the searched entity needs only its `type` (its id, if sent, is ignored), and an action
 * search has no action at all.
 */
function searchBase(kind: SearchKind, body: Entity): { base: CheckRequest; searchedType: string; warnings: readonly string[] } {
  const subject = entity(body, 'subject');
  const resource = entity(body, 'resource');
  let searchedType = '';
  let evaluation: Entity;
  if (kind === 'subject') {
    searchedType = field(subject, 'subject', 'type');
    evaluation = { ...body, subject: { ...subject, id: PLACEHOLDER } };
  } else if (kind === 'resource') {
    searchedType = field(resource, 'resource', 'type');
    evaluation = { ...body, resource: { ...resource, id: PLACEHOLDER } };
  } else {
    evaluation = { ...body, action: { name: PLACEHOLDER } };
  }
  const { request, warnings } = mapEvaluation(evaluation);
  // A warning about the placeholder's own type would be about a field the caller sent for the search.
  return { base: request, searchedType, warnings: kind === 'subject' ? warnings.filter((w) => !w.startsWith('subject.type')) : warnings };
}

/**
 * Stable JSON for fingerprints, at most this deep. Only entity types and ids, and the action's
 * known properties, decide a search; they lie near the top. Below that a deeply nested context
 * (a body may hold thousands of levels) is cut off rather than overflowing the stack.
 */
const FINGERPRINT_DEPTH = 32;
const stableJson = configure({ maximumDepth: FINGERPRINT_DEPTH });

/** What identifies a search across its pages: everything but the page and the searched id. */
function fingerprint(kind: SearchKind, body: Entity): string {
  const { subject, action, resource, context } = body;
  const strip = (value: unknown) => (isObject(value) ? { ...value, id: undefined } : value);
  const key = {
    kind,
    subject: kind === 'subject' ? strip(subject) : subject,
    action: kind === 'action' ? null : action,
    resource: kind === 'resource' ? strip(resource) : resource,
    context: context ?? null,
  };
  return hash('sha256', stableJson(key) ?? 'null', 'hex').slice(0, 16);
}

interface Page {
  readonly offset: number;
  readonly limit: number;
}

interface TokenData {
  readonly revision: string;
  readonly query: string;
  readonly offset: number;
  readonly limit: number;
}

function encodeToken(data: TokenData): string {
  return Buffer.from(JSON.stringify([data.revision, data.query, data.offset, data.limit])).toString('base64url');
}

function decodeToken(token: string): TokenData {
  try {
    const [revision, query, offset, limit] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
    // Offset and limit as pageOf would accept them: a token edited by hand is refused, never indexed with.
    const pageable = Number.isSafeInteger(offset) && (offset as number) >= 0 && Number.isSafeInteger(limit) && (limit as number) >= 1 && (limit as number) <= MAX_PAGE_LIMIT;
    if (typeof revision === 'string' && typeof query === 'string' && pageable) {
      return { revision, query, offset: offset as number, limit: limit as number };
    }
  } catch {
    // Falls through to the same refusal as a well-formed token of the wrong shape.
  }
  throw invalid('page.token', 'is not a token this PDP issued');
}

/**
 * The page asked for. A token is bound to the registry revision and to the search it came
 * from: after a reload, or for another search, it is refused rather than answered from a
 * different result set. A follow-up may repeat the limit or leave it out; it may not change it.
 */
function pageOf(body: Entity, revision: string, query: string): Page {
  if (body.page === undefined) return { offset: 0, limit: DEFAULT_PAGE_LIMIT };
  if (!isObject(body.page)) throw invalid('page', 'must be an object');
  const { token, limit } = body.page;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || (limit as number) < 0 || (limit as number) > MAX_PAGE_LIMIT)) {
    throw invalid('page.limit', `must be an integer from 0 to ${MAX_PAGE_LIMIT} (0: the default, ${DEFAULT_PAGE_LIMIT})`);
  }
  const asked = limit === undefined || limit === 0 ? undefined : (limit as number);
  if (token === undefined || token === '') return { offset: 0, limit: asked ?? DEFAULT_PAGE_LIMIT };
  if (typeof token !== 'string') throw invalid('page.token', 'must be a string');
  const data = decodeToken(token);
  if (data.revision !== revision) throw invalid('page.token', `was issued for registry revision ${data.revision}; the registry is now ${revision}: start the search again`);
  if (data.query !== query) throw invalid('page.token', 'was issued for another search: the entities and context must stay the same across pages');
  if (asked !== undefined && asked !== data.limit) throw invalid('page.limit', 'must stay the same across pages');
  return { offset: data.offset, limit: data.limit };
}

/** Candidates in order, each turned into a result when the policy allows it, one page from `offset`. */
function scan<T>(count: number, resultAt: (index: number) => T | undefined, page: Page): { results: T[]; next: number | undefined } {
  const results: T[] = [];
  let index = page.offset;
  for (; index < count && results.length < page.limit; index++) {
    const result = resultAt(index);
    if (result !== undefined) results.push(result);
  }
  // The token points at the next allowed candidate, so an empty token means there is none.
  for (; index < count; index++) if (resultAt(index) !== undefined) return { results, next: index };
  return { results, next: undefined };
}

const subjectCache = new WeakMap<CompiledRegistry, Map<string, EffectiveSubject[]>>();

function cachedSubjects(registry: CompiledRegistry, actor: string): EffectiveSubject[] {
  let byActor = subjectCache.get(registry);
  if (byActor === undefined) subjectCache.set(registry, (byActor = new Map()));
  let subjects = byActor.get(actor);
  if (subjects === undefined) {
    subjects = effectiveSubjects(registry, actor);
    if (byActor.size >= CACHED_ACTORS) byActor.delete(byActor.keys().next().value!);
    byActor.set(actor, subjects);
  }
  return subjects;
}

const actorNameCache = new WeakMap<CompiledRegistry, readonly string[]>();

/** The actors in document order, listed once per revision (a page indexes into it). */
function actorNames(registry: CompiledRegistry): readonly string[] {
  let names = actorNameCache.get(registry);
  if (names === undefined) actorNameCache.set(registry, (names = [...registry.actorNames()]));
  return names;
}

export interface SearchAnswer {
  readonly page: { readonly next_token: string; readonly count: number };
  readonly context?: { readonly warnings: readonly string[] };
  readonly results: readonly unknown[];
}

/**
 * POST /access/v1/search/{subject,resource,action}: the entities the policy allows, from the
 * registry's compiled closure, each confirmed by `decide` (so a result evaluates to true),
 * in document order, a page at a time. An unknown type or id is an empty result, not an error.
 */
export interface ParsedSearch {
  readonly kind: SearchKind;
  readonly body: Entity;
  readonly base: CheckRequest;
  readonly searchedType: string;
  readonly warnings: readonly string[];
}

/** Validates a search without the registry, so a malformed one is a 400 whatever the registry's state. */
export function parseSearch(kind: SearchKind, body: Entity): ParsedSearch {
  return { kind, body, ...searchBase(kind, body) };
}

export function search({ kind, body, base, searchedType, warnings }: ParsedSearch, registry: CompiledRegistry): SearchAnswer {
  const query = fingerprint(kind, body);
  const page = pageOf(body, registry.revision, query);
  const allows = (request: CheckRequest) => decide(registry, request).allow;
  // Each candidate's request spelled out, not spread from base: see `Writable` in src/core/writable.ts.
  const { subject, action, resource, context } = base;
  let found: { results: unknown[]; next: number | undefined };

  if (kind === 'subject') {
    const subjects = searchedType === SUBJECT_TYPE ? cachedSubjects(registry, resource.id) : [];
    found = scan(subjects.length, (index) => {
      const { id, group } = subjects[index]!;
      if (!allows({ subject: { id }, action, resource, context })) return undefined;
      if (group === undefined) return { type: SUBJECT_TYPE, id };
      return { type: SUBJECT_TYPE, id, properties: { via: viaGroup(registry, group, id).map((name) => `group:${name}`) } };
    }, page);
  } else if (kind === 'resource') {
    const actors = searchedType === RESOURCE_TYPE ? actorNames(registry) : [];
    found = scan(actors.length, (index) => {
      const id = actors[index]!;
      // isSigner first: the cheap test that rules out most actors before a full decision.
      return registry.isSigner(id, subject.id) && allows({ subject, action, resource: { type: RESOURCE_TYPE, id }, context }) ? { type: RESOURCE_TYPE, id } : undefined;
    }, page);
  } else {
    const actions = [...(registry.actor(resource.id)?.actions ?? [])].sort();
    found = scan(actions.length, (index) => (allows({ subject, action: actions[index]!, resource, context }) ? { name: actions[index]! } : undefined), page);
  }

  const nextToken = found.next === undefined ? '' : encodeToken({ revision: registry.revision, query, offset: found.next, limit: page.limit });
  return {
    page: { next_token: nextToken, count: found.results.length },
    ...(warnings.length > 0 ? { context: { warnings } } : {}),
    results: found.results,
  };
}
