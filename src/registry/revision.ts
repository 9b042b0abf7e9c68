import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';
import { ChunkedSha256, jsonString } from '../core/canonical-json.js';
import type { ActorEntry, Duration, RegistryDocument, RelationshipTuple } from './document.js';

/** What `revisionOf` and `revisionOfValid` make, and all a compiled registry accepts. */
export const REVISION_PATTERN = /^sha256:[0-9a-f]{64}$/;

/**
 * `sha256:` + hex SHA-256 of the canonical JSON (keys sorted recursively, as safe-stable-stringify
 * writes them), so re-formatting a file keeps its revision.
 */
export function revisionOf(document: unknown): string {
  return `sha256:${createHash('sha256').update(stringify(document) ?? 'null').digest('hex')}`;
}

/**
 * The keys of a valid document, in the sorted order canonical JSON writes them. A unit test
 * checks these lists against the schema, so a field added there cannot be left out here.
 */
export const CANONICAL_KEYS = {
  document: ['actors', 'metadata', 'relationships', 'schema'],
  metadata: ['generated_at', 'name', 'source'],
  actor: ['actions', 'allowed_subjects', 'certificate', 'disabled', 'name', 'principals', 'ttl', 'type'],
  ttl: ['default', 'max', 'min'],
  relationship: ['object', 'relation', 'subject'],
} as const;

function list(items: readonly string[]): string {
  let text = '[';
  for (let i = 0; i < items.length; i++) text += (i === 0 ? '' : ',') + jsonString(items[i]!);
  return text + ']';
}

function duration(value: Duration): string {
  return typeof value === 'number' ? String(value) : jsonString(value);
}

function actorJson(actor: ActorEntry): string {
  const { ttl } = actor;
  let text = '{';
  if (actor.actions !== undefined) text += `"actions":${list(actor.actions)},`;
  if (actor.allowed_subjects !== undefined) text += `"allowed_subjects":${list(actor.allowed_subjects)},`;
  // Few actors have one: the generic writer is cheap enough for it.
  if (actor.certificate !== undefined) text += `"certificate":${stringify(actor.certificate)},`;
  if (actor.disabled !== undefined) text += `"disabled":${actor.disabled},`;
  text += `"name":${jsonString(actor.name)},"principals":${list(actor.principals)},` +
    `"ttl":{"default":${duration(ttl.default)},"max":${duration(ttl.max)}${ttl.min === undefined ? '' : `,"min":${duration(ttl.min)}`}},` +
    `"type":${jsonString(actor.type)}}`;
  return text;
}

function relationshipJson(rel: RelationshipTuple): string {
  return `{"object":${jsonString(rel.object)},"relation":${jsonString(rel.relation)},"subject":${jsonString(rel.subject)}}`;
}

/**
 * `revisionOf` for a document that passed validation, written field by field: such a document
 * has only the schema's keys, so their sorted order is known and nothing is sorted or copied.
 * Three times faster than the generic walk on a 100,000-actor registry; a property test checks
 * the two agree.
 */
export function revisionOfValid(document: RegistryDocument): string {
  const out = new ChunkedSha256();
  out.put('{"actors":[');
  document.actors.forEach((actor, i) => out.put((i === 0 ? '' : ',') + actorJson(actor)));
  out.put(']');
  if (document.metadata !== undefined) {
    const { metadata } = document;
    const fields = CANONICAL_KEYS.metadata.filter((key) => metadata[key] !== undefined).map((key) => `"${key}":${jsonString(metadata[key]!)}`);
    out.put(`,"metadata":{${fields.join(',')}}`);
  }
  if (document.relationships !== undefined) {
    out.put(',"relationships":[');
    document.relationships.forEach((rel, i) => out.put((i === 0 ? '' : ',') + relationshipJson(rel)));
    out.put(']');
  }
  out.put(`,"schema":${jsonString(document.schema)}}`);
  return `sha256:${out.digest()}`;
}
