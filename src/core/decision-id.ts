import { hash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';
import { jsonString, plainJsonList } from './canonical-json.js';
import type { NormalizedRequest } from './types.js';

/**
 * The canonical JSON (keys sorted) of `{policy, request, revision}`, spelled out: the shape is
 * fixed, and this runs on every check, where a generic canonicalizer cost a tenth of the CPU.
 * A property test checks it against the canonical-JSON oracle (test/helpers/canonical-oracle.ts).
 */
export function canonicalDecisionInput(policy: string, revision: string, request: NormalizedRequest): string {
  const { resource, principals } = request;
  // The policy, the revision and principals are plain by construction (canonical-json.ts).
  return '{"policy":"' + policy + '","request":{"action":' + jsonString(request.action) + ',"principals":' + plainJsonList(principals) +
    ',"resource":{"id":' + jsonString(resource.id) + ',"type":' + jsonString(resource.type) + '},"subject":' +
    // Stryker disable next-line ConditionalExpression: '' + null is 'null', the same text
    jsonString(request.subject) + ',"ttl_seconds":' + (request.ttl_seconds === null ? 'null' : request.ttl_seconds) +
    '},"revision":"' + revision + '"}';
}

/** What `decisionId` makes: a grant's `key_id` and a decision's id have exactly this form. */
export const DECISION_ID_PATTERN = /^decision:[0-9a-f]{16}$/;

/**
 * `decision:` + 16 hex chars of SHA-256 over the canonical JSON of policy, registry revision
 * and normalized request. Canonical (sorted keys) so every replica and the offline CLI agree.
 * A v1 input is spelled out (the hot path); one with certificate fields (only those that differ
 * from a request without them) goes through the generic canonicalizer, whose text for a v1
 * input is the same (a property test checks both).
 */
export function decisionId(policy: string, revision: string, request: NormalizedRequest): string {
  // Stryker disable next-line ConditionalExpression: the fast path; the generic canonicalizer writes the same text for a v1 input (property test)
  const input = request.cert_type === undefined && request.extensions === undefined && request.critical_options === undefined
    ? canonicalDecisionInput(policy, revision, request)
    // For an object, stringify always returns text.
    : stringify({ policy, request, revision })!;
  // The one-shot hash: no Hash object per check.
  return `decision:${hash('sha256', input, 'hex').slice(0, 16)}`;
}
