import type { CheckRequest } from '../core/types.js';
import type { Logger } from '../logger.js';

/** Key names only: metadata values are the caller's and may be anything, secrets included. */
const MAX_METADATA_KEYS = 32;

export interface DecisionRecord {
  readonly requestId: string;
  readonly request: CheckRequest;
  /** A decision, or the fail-closed `registry_unavailable` answer that has no id or revision. */
  readonly decision: {
    readonly allow: boolean;
    readonly reason: string;
    readonly decision_id?: string;
    readonly registry_revision?: string;
    readonly policy?: string;
  };
  readonly durationMs: number;
}

/** One JSON line per decision (contract section 8), written synchronously before the reply. */
export function logDecision(logger: Logger, record: DecisionRecord): void {
  const { request, decision } = record;
  const metadata = request.context.metadata;
  logger.info(
    {
      decision_id: decision.decision_id ?? null,
      request_id: record.requestId,
      allow: decision.allow,
      reason: decision.reason,
      subject: request.subject.id,
      action: request.action,
      resource: request.resource,
      registry_revision: decision.registry_revision ?? null,
      policy: decision.policy ?? null,
      duration_ms: Math.round(record.durationMs * 1000) / 1000,
      ...(metadata ? { metadata_keys: Object.keys(metadata).slice(0, MAX_METADATA_KEYS).map((key) => key.slice(0, 64)) } : {}),
    },
    'decision',
  );
}
