import { InvalidRequestError } from '../../core/errors.js';
import type { CompiledRegistry } from '../../registry/compiled-registry.js';
import { UNLOGGED } from '../check.js';
import type { Decided, DecisionLane } from '../check.js';
import type { DecisionRecord } from '../decision-log.js';
import { errorAnswer } from '../errors.js';
import { isObject, mapEvaluation } from './request.js';
import type { Entity } from './request.js';

/** At most this many items per `evaluations` request: a batch is one request's worth of work. */
export const MAX_EVALUATIONS = 64;

export const SEMANTICS = ['execute_all', 'deny_on_first_deny', 'permit_on_first_permit'] as const;
type Semantic = (typeof SEMANTICS)[number];

export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** An AuthZEN decision: `decision` plus flex-auth's v1 answer, minus `allow`, in `context`. */
export interface AuthzenDecision {
  readonly decision: boolean;
  readonly context: Readonly<Record<string, unknown>>;
}

function toAuthzen(decision: DecisionRecord['decision'] & { message?: string }, warnings: readonly string[]): AuthzenDecision {
  // The rest, then members added one by one, not spread: see `Writable` in src/core/writable.ts.
  const { allow, message, ...rest } = decision;
  const context: Record<string, unknown> = rest;
  if (message !== undefined) context.reason_admin = { en: message };
  if (warnings.length > 0) context.warnings = warnings;
  return { decision: allow, context };
}

function itemError(error: unknown): AuthzenDecision {
  const { status, body } = errorAnswer(error);
  return { decision: false, context: { error: { status, message: body.error.message } } };
}

/** Writes each decided item's log line and counts it; resolves false if any line was not written. */
function recordAll(lane: DecisionLane, decided: readonly Decided[]): Promise<boolean> {
  if (decided.length === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    let waiting = decided.length;
    let allLogged = true;
    for (const item of decided) {
      lane.record(item, (logged) => {
        allLogged &&= logged;
        if (--waiting === 0) resolve(allLogged);
      });
    }
  });
}

export interface EvaluationCall {
  readonly lane: DecisionLane;
  readonly registry: CompiledRegistry | undefined;
  readonly requestId: string;
  /** Who asked (the decision line's `caller`). */
  readonly caller: string;
  readonly startedAt: bigint;
  readonly explain: boolean;
}

/** The decision line names what the answer warns about, so a caller's typo shows in the log too. */
function withWarnings(decided: Decided, warnings: readonly string[]): Decided {
  return warnings.length === 0 ? decided : { ...decided, record: { ...decided.record, warnings } };
}

/** POST /access/v1/evaluation: one decision, logged and counted as the equivalent /v1/check. */
export async function evaluate(call: EvaluationCall, body: Entity): Promise<Answer> {
  const { request, warnings } = mapEvaluation(body);
  const decided = withWarnings(call.lane.decide(request, call.explain, call.requestId, call.caller, call.startedAt, call.registry), warnings);
  if (!(await recordAll(call.lane, [decided]))) return { status: UNLOGGED.status, body: UNLOGGED.body };
  return { status: decided.status, body: toAuthzen(decided.record.decision, warnings) };
}

function semanticOf(body: Entity): Semantic {
  const options = body.options;
  if (options === undefined) return 'execute_all';
  if (!isObject(options)) throw new InvalidRequestError('options must be an object', [{ path: 'options', message: 'must be an object' }]);
  const semantic = options.evaluations_semantic ?? 'execute_all';
  if (!(SEMANTICS as readonly unknown[]).includes(semantic)) {
    const message = `must be one of ${SEMANTICS.join(', ')}`;
    throw new InvalidRequestError(`options.evaluations_semantic ${message}`, [{ path: 'options.evaluations_semantic', message }]);
  }
  return semantic as Semantic;
}

/** Whether the semantic stops after this decision (the item itself is answered). */
function stopsAt(semantic: Semantic, decision: boolean): boolean {
  return semantic === 'deny_on_first_deny' ? !decision : semantic === 'permit_on_first_permit' && decision;
}

/**
 * POST /access/v1/evaluations: each item is the top-level defaults with the item's own
 * `subject`, `action`, `resource`, `context` replacing them whole; all items against one
 * registry revision, answered in request order; a bad item answers a 400 in its slot; the
 * short-circuit semantics stop at (and include) the first deny or permit. Without items, it
 * is a single evaluation, as the specification asks.
 */
export async function evaluateAll(call: EvaluationCall, body: Entity): Promise<Answer> {
  const items = body.evaluations;
  if (items === undefined || (Array.isArray(items) && items.length === 0)) return evaluate(call, body);
  if (!Array.isArray(items)) throw new InvalidRequestError('evaluations must be an array', [{ path: 'evaluations', message: 'must be an array' }]);
  if (items.length > MAX_EVALUATIONS) {
    const message = `must have at most ${MAX_EVALUATIONS} items (got ${items.length}); split the batch`;
    throw new InvalidRequestError(`evaluations ${message}`, [{ path: 'evaluations', message }]);
  }
  const semantic = semanticOf(body);

  const answers: (AuthzenDecision | { decided: Decided; warnings: readonly string[] })[] = [];
  const decided: Decided[] = [];
  for (const [index, item] of items.entries()) {
    let decision: boolean;
    try {
      if (!isObject(item)) throw new InvalidRequestError(`evaluations[${index}] must be an object`);
      const merged = { subject: body.subject, action: body.action, resource: body.resource, context: body.context, ...definedKeys(item) };
      const { request, warnings } = mapEvaluation(merged);
      const one = withWarnings(call.lane.decide(request, call.explain, call.requestId, call.caller, call.startedAt, call.registry), warnings);
      decided.push(one);
      answers.push({ decided: one, warnings });
      decision = one.record.decision.allow;
    } catch (error) {
      if (!(error instanceof InvalidRequestError)) throw error;
      answers.push(itemError(error));
      decision = false;
    }
    if (stopsAt(semantic, decision)) break;
  }
  if (!(await recordAll(call.lane, decided))) return { status: UNLOGGED.status, body: UNLOGGED.body };
  const evaluations = answers.map((answer) => ('decided' in answer ? toAuthzen(answer.decided.record.decision, answer.warnings) : answer));
  // Refused items (no registry, or a stale one) refuse the batch as /access/v1/evaluation refuses one: a 503.
  const refusal = decided.find((one) => one.status !== 200);
  return { status: refusal?.status ?? (call.registry ? 200 : 503), body: { evaluations } };
}

/** The item's own entities: a key the item sets replaces the default whole; one it leaves out does not. */
function definedKeys(item: Entity): Entity {
  const own: Record<string, unknown> = {};
  for (const key of ['subject', 'action', 'resource', 'context']) if (item[key] !== undefined) own[key] = item[key];
  return own;
}
