import type { CertificateProfile, CertType, CriticalOptions } from './certificate.js';

/** The data the decision engine works on. Nothing here knows about HTTP, files or Kubernetes. */

export const ACTOR_TYPES = ['agent', 'admin', 'automation', 'service', 'human'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

export const DENY_REASONS = [
  'unsupported_resource_type',
  'unknown_actor_resource',
  'actor_disabled',
  'action_not_allowed',
  'subject_not_allowed',
  'principal_not_allowed',
  'cert_type_not_allowed',
  'extension_not_allowed',
  'critical_option_not_allowed',
  'ttl_out_of_bounds',
] as const;
export type DenyReason = (typeof DENY_REASONS)[number];
export type Reason = DenyReason | 'allowed';

/** TTL bounds in seconds. */
export interface TtlBounds {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

/** An actor as compiled from the registry: lookups are sets, durations are seconds. */
export interface Actor {
  readonly name: string;
  readonly type: ActorType;
  readonly actions: ReadonlySet<string>;
  /** Few per actor, so a list: cheaper than a set per actor in a 100,000-actor registry. */
  readonly principals: readonly string[];
  readonly ttl: TtlBounds;
  readonly disabled: boolean;
  /** What its certificates may carry; actors without a `certificate` section share the default profile. */
  readonly certificate: CertificateProfile;
}

/** What the engine needs from a loaded registry; the registry layer implements it. */
export interface PolicyRegistry {
  readonly revision: string;
  actor(name: string): Actor | undefined;
  /**
   * What makes `subjectId` a signer of the actor, or undefined when nothing does: for a subject
   * in the actor's `allowed_subjects`, `["allowed_subjects: SUBJECT"]`; else the relationship
   * path, tuples `object#relation@subject` from the actor down to the subject.
   */
  signerPath(actorName: string, subjectId: string): readonly string[] | undefined;
  /** Whether `signerPath` would find a path, without spelling it out: the check's question. */
  isSigner(actorName: string, subjectId: string): boolean;
}

/** A validated check request. `ttl` is in seconds; absent context keys take the actor's defaults. */
export interface CheckRequest {
  readonly subject: { readonly id: string };
  readonly action: string;
  readonly resource: { readonly type: string; readonly id: string };
  readonly context: {
    readonly ttl?: number;
    readonly principals?: readonly string[];
    readonly metadata?: Readonly<Record<string, unknown>>;
    readonly cert_type?: CertType;
    readonly extensions?: readonly string[];
    readonly critical_options?: CriticalOptions;
  };
}

/** The decision-relevant part of a request after defaults: what the decision id is made of. */
export interface NormalizedRequest {
  readonly subject: string;
  readonly action: string;
  readonly resource: { readonly type: string; readonly id: string };
  readonly ttl_seconds: number | null;
  readonly principals: readonly string[];
  /**
   * The certificate fields, each only when it differs from what a request without it gets (so
   * v1 requests keep their ids, and spelling out a default changes nothing, like a ttl of `1h`).
   */
  readonly cert_type?: CertType;
  readonly extensions?: readonly string[];
  readonly critical_options?: CriticalOptions;
}

export type RuleResult = 'pass' | 'fail' | 'skip';

/**
 * One rule in a trace. `reason` is the reason the rule denies with, on every entry as in v1 (a
 * passing entry's `result` says it passed); `message` only when it did not pass; `path` for a
 * passing subject rule.
 */
export interface TraceEntry {
  readonly rule: string;
  readonly reason: DenyReason;
  readonly result: RuleResult;
  readonly message?: string;
  readonly path?: readonly string[];
}

/** The v1 part of a grant: principals and validity. */
export interface Grant {
  readonly ttl_seconds: number;
  readonly principals: readonly string[];
}

/** The whole certificate ops-warden may have signed, and nothing more (contract section 14). */
export interface CertificateGrant extends Grant {
  readonly cert_type: CertType;
  /** Sorted. */
  readonly extensions: readonly string[];
  /** Only the options the certificate carries, `source_address` sorted; `{}` when none. */
  readonly critical_options: CriticalOptions;
  /** The decision id, so that sshd's log line (which shows the key id) joins the decision log. */
  readonly key_id: string;
}

/** The answer to a check, serialized as-is as the HTTP body and by `flex-auth check`. */
export interface Decision {
  readonly allow: boolean;
  readonly reason: Reason;
  readonly message?: string;
  readonly decision_id: string;
  readonly registry_revision: string;
  readonly policy: string;
  readonly grant?: CertificateGrant;
  readonly trace?: readonly TraceEntry[];
}
