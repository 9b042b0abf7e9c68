import { jsonString as quote } from '../core/canonical-json.js';
import type { CheckRequest } from '../core/types.js';
import { serializedInfoWriter } from '../logger.js';
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


function quoteOrNull(value: string | undefined): string {
  return value === undefined ? 'null' : quote(value);
}

/**
 * The fields of a decision's log line (contract section 8), spelled out: their shape is fixed
 * and this runs on every check. A unit test checks it against JSON.stringify of the same fields.
 */
export function decisionFields({ requestId, request, decision, durationMs }: DecisionRecord): string {
  const { resource } = request;
  const metadata = request.context.metadata;
  const keys = metadata ? `,"metadata_keys":${JSON.stringify(Object.keys(metadata).slice(0, MAX_METADATA_KEYS).map((key) => key.slice(0, 64)))}` : '';
  return `"decision_id":${quoteOrNull(decision.decision_id)},"request_id":${quote(requestId)},"allow":${decision.allow},` +
    `"reason":${quote(decision.reason)},"subject":${quote(request.subject.id)},"action":${quote(request.action)},` +
    `"resource":{"type":${quote(resource.type)},"id":${quote(resource.id)}},` +
    `"registry_revision":${quoteOrNull(decision.registry_revision)},"policy":${quoteOrNull(decision.policy)},` +
    `"duration_ms":${Math.round(durationMs * 1000) / 1000}${keys}`;
}

/** One JSON line per decision, written synchronously before the reply. */
export function decisionLog(logger: Logger): (record: DecisionRecord) => void {
  const write = serializedInfoWriter(logger, 'decision');
  return (record) => write(decisionFields(record));
}
