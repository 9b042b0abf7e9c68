import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import type { NormalizedRequest } from './types.js';

/**
 * `decision:` + 16 hex chars of SHA-256 over the canonical JSON of policy, registry revision
 * and normalized request. Canonical (sorted keys) so every replica and the offline CLI agree.
 */
export function decisionId(policy: string, revision: string, request: NormalizedRequest): string {
  const canonical = canonicalJson({ policy, revision, request });
  return `decision:${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}`;
}
