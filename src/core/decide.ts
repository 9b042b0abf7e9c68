import { decisionId } from './decision-id.js';
import { sshSignV1 } from './policies/ssh-sign-v1.js';
import type { PolicyPackage, Rule, RuleOutcome } from './policy.js';
import type { CheckRequest, Decision, PolicyRegistry, TraceEntry } from './types.js';

/**
 * Policy packages by resource type. A request for a type no package serves is judged by the
 * default package, whose first rule rejects the type (`unsupported_resource_type`).
 */
const PACKAGES: readonly PolicyPackage[] = [sshSignV1];
const DEFAULT_PACKAGE = sshSignV1;

function policyFor(resourceType: string): PolicyPackage {
  // Stryker disable next-line ArrowFunction,ConditionalExpression,EqualityOperator: one package today, which is also the default
  return PACKAGES.find((pkg) => pkg.resourceType === resourceType) ?? DEFAULT_PACKAGE;
}

export interface DecideOptions {
  /** Evaluate every rule, even past the first failure, and return them as `trace`. */
  readonly explain?: boolean;
}

/** A passing rule shows its name and evidence; only a rule that did not pass shows the deny reason it gives. */
function traceEntry(rule: Rule, outcome: RuleOutcome): TraceEntry {
  return outcome.result === 'pass'
    ? { rule: rule.name, reason: rule.reason, result: 'pass', ...(outcome.path ? { path: outcome.path } : {}) }
    : { rule: rule.name, reason: rule.reason, result: outcome.result, message: outcome.message };
}

/** Pure and deterministic: the same registry revision and request always give the same decision. */
export function decide(registry: PolicyRegistry, request: CheckRequest, options: DecideOptions = {}): Decision {
  const explain = options.explain === true;
  const pkg = policyFor(request.resource.type);
  const input = pkg.prepare(request, registry, explain);
  const trace: TraceEntry[] = [];
  let denial: { rule: Rule; message: string } | undefined;

  for (const rule of pkg.rules) {
    const outcome = rule.evaluate(input);
    if (explain) trace.push(traceEntry(rule, outcome));
    if (outcome.result !== 'pass' && !denial) {
      denial = { rule, message: outcome.message };
      // Stryker disable next-line ConditionalExpression: evaluating on only costs time; the first denial stays the answer
      if (!explain) break;
    }
  }

  // Built field by field, in the order the response shows them.
  const { normalized, certificate } = input;
  const id = decisionId(pkg.name, registry.revision, normalized);
  const decision: Decision = denial
    ? { allow: false, reason: denial.rule.reason, message: denial.message, decision_id: id, registry_revision: registry.revision, policy: pkg.name }
    // Every rule passed, so the principals rule saw a non-empty list and the ttl rule a ttl.
    : { allow: true, reason: 'allowed', decision_id: id, registry_revision: registry.revision, policy: pkg.name, grant: {
      ttl_seconds: normalized.ttl_seconds ?? 0, principals: normalized.principals, cert_type: certificate.cert_type,
      extensions: certificate.extensions, critical_options: certificate.critical_options, key_id: id,
    } };
  // Object.assign, not a spread followed by trace: see `Writable` in writable.ts.
  return explain ? Object.assign({}, decision, { trace }) : decision;
}
