/**
 * Decision logs written by the real `DecisionLog` (chain and checkpoints included) into memory,
 * for the tests of `flex-auth audit verify`.
 */
import { DecisionLog } from '../../src/http/decision-log.js';
import type { DecisionRecord } from '../../src/http/decision-log.js';
import { createLogger } from '../../src/logger.js';
import { v1Grant } from './grants.js';

export const SAMPLE_RECORD: DecisionRecord = {
  requestId: 'r-1', durationMs: 0.25, caller: 'token:0123abcd',
  request: { subject: { id: 'iam:alice' }, action: 'sign', resource: { type: 'ssh_actor', id: 'agt-a' }, context: {} },
  decision: {
    allow: true, reason: 'allowed', decision_id: 'decision:0123456789abcdef', registry_revision: 'sha256:00', policy: 'ssh-sign/v1',
    grant: v1Grant(3600, ['atm-ops']),
  },
};

export interface WrittenLog {
  readonly logId: string;
  /** The lines as written, without newlines: decisions and checkpoints, in order. */
  readonly lines: string[];
}

/**
 * `decisions` decision lines (each record's request id is `r-<seq>`), with a checkpoint every
 * `everyDecisions` and one at close when `key` is given. Commits synchronously, line by line.
 */
export function writeDecisionLog(decisions: number, options: { key?: string; everyDecisions?: number } = {}): WrittenLog {
  let text = '';
  const logger = createLogger({ destination: { write: (chunk: string) => { text += chunk; } } });
  const log = new DecisionLog(logger, (commit) => commit());
  if (options.key !== undefined) {
    const key = Buffer.from(options.key);
    log.startCheckpoints({ key: () => key, everyDecisions: options.everyDecisions ?? 1000, everyMs: 3_600_000 });
  }
  for (let seq = 1; seq <= decisions; seq++) log.append({ ...SAMPLE_RECORD, requestId: `r-${seq}` }, () => {});
  log.close();
  return { logId: log.logId, lines: text.split('\n').slice(0, -1) };
}
