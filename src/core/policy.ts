import type { RequestedCertificate } from './certificate.js';
import type { Actor, CheckRequest, DenyReason, NormalizedRequest, PolicyRegistry } from './types.js';

/** What every rule of a package sees: the request, its actor (if any) and its normalized form. */
export interface EvaluationInput {
  readonly request: CheckRequest;
  readonly registry: PolicyRegistry;
  readonly actor: Actor | undefined;
  readonly normalized: NormalizedRequest;
  /** The certificate asked for, the actor's defaults applied: what the grant carries on allow. */
  readonly certificate: RequestedCertificate;
  /** A trace was asked for, so passing rules should show their evidence (a relationship path). */
  readonly explain: boolean;
}

/** `skip` means the rule could not be evaluated (no actor); like `fail`, it never allows. */
export type RuleOutcome =
  | { readonly result: 'pass'; readonly path?: readonly string[] }
  | { readonly result: 'fail' | 'skip'; readonly message: string };

export interface Rule {
  readonly name: string;
  /** The deny reason this rule reports when it does not pass. */
  readonly reason: DenyReason;
  evaluate(input: EvaluationInput): RuleOutcome;
}

/**
 * A named, ordered list of rules for one resource type. The first rule that does not pass
 * gives the deny reason, so the order of `rules` is the contract's reason order.
 */
export interface PolicyPackage {
  readonly name: string;
  readonly resourceType: string;
  /** Looks up the actor and applies its defaults (ttl, principals, certificate) to the request. */
  prepare(request: CheckRequest, registry: PolicyRegistry, explain: boolean): EvaluationInput;
  readonly rules: readonly Rule[];
}

export const pass: RuleOutcome = Object.freeze({ result: 'pass' });

export function fail(message: string): RuleOutcome {
  return { result: 'fail', message };
}

export function skip(message: string): RuleOutcome {
  return { result: 'skip', message };
}
