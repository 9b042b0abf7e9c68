import { readFile } from 'node:fs/promises';
import { isCertType, isExtension, isForceCommand, isSourceAddress } from '../core/certificate.js';
import type { CertType, CriticalOptions } from '../core/certificate.js';
import type { CertificateGrant, Decision } from '../core/types.js';

/** A check as a caller builds it; durations may be `"1h"` or seconds, as on the wire. */
export interface CheckInput {
  readonly subject: { readonly id: string };
  readonly action: string;
  readonly resource: { readonly type?: string; readonly id: string };
  readonly context?: {
    readonly ttl?: string | number;
    readonly principals?: readonly string[];
    readonly metadata?: Readonly<Record<string, unknown>>;
    readonly cert_type?: CertType;
    readonly extensions?: readonly string[];
    readonly critical_options?: CriticalOptions;
  };
}

/**
 * What a caller acts on. `allow` is true only for an HTTP 200 decision whose `allow` is
 * `true` and whose grant is well-formed (the whole certificate: principals, ttl, type,
 * extensions, critical options and key id, which the caller signs exactly); every other outcome (deny, 4xx, 5xx, timeout,
 * unreachable, unparsable body) is `allow: false` with a reason saying why.
 */
export type CheckOutcome =
  | { readonly allow: true; readonly reason: 'allowed'; readonly decisionId: string; readonly grant: CertificateGrant; readonly decision: Decision }
  | {
      readonly allow: false;
      /** A policy reason (`ttl_out_of_bounds`, …), `registry_unavailable`, or a client-side one: `http_error`, `unreachable`, `timeout`, `bad_response`, `no_token`. */
      readonly reason: string;
      readonly message: string;
      readonly status?: number;
      readonly decisionId?: string;
      readonly decision?: Decision;
    };

/** An AuthZEN 1.0 evaluation as flex-auth reads it (docs/api.md, "AuthZEN"). */
export interface AuthzenEvaluation {
  readonly subject: { readonly type: string; readonly id: string; readonly properties?: Readonly<Record<string, unknown>> };
  readonly action: {
    readonly name: string;
    readonly properties?: { readonly ttl?: string | number; readonly principals?: readonly string[]; readonly [key: string]: unknown };
  };
  readonly resource: { readonly type: string; readonly id: string; readonly properties?: Readonly<Record<string, unknown>> };
  readonly context?: Readonly<Record<string, unknown>>;
}

/**
 * An AuthZEN answer as a caller acts on it: `decision` is true only for an HTTP 200 decision
 * `true`; `context` is flex-auth's (`decision_id`, `grant`, `warnings`, ...) when it answered.
 */
export type EvaluationOutcome =
  | { readonly decision: true; readonly reason: string; readonly status: 200; readonly context: Readonly<Record<string, any>> }
  | {
      readonly decision: false;
      /** A policy reason, `registry_unavailable`, or a client-side one as for `check`. */
      readonly reason: string;
      readonly message: string;
      readonly status?: number;
      readonly context?: Readonly<Record<string, any>>;
    };

export interface FlexAuthClientOptions {
  /** e.g. http://flex-auth.flex-auth.svc.cluster.local:8080 */
  readonly baseUrl: string;
  /** Per-call deadline; default 2000 ms. */
  readonly timeoutMs?: number;
  /** Bearer token, when flex-auth runs with --auth-token-file. */
  readonly token?: string;
  /**
   * A file holding the bearer token (its first line that is not blank or a `#` comment),
   * read on every call: a Kubernetes projected token is rotated in place. Wins over `token`.
   */
  readonly tokenFile?: string;
}

/** What /v1/registry says is loaded, or why it could not be read. */
export type RegistryInfo =
  | { readonly ok: true; readonly revision: string; readonly source: string }
  | { readonly ok: false; readonly detail: string };

export interface CallOptions {
  readonly explain?: boolean;
  readonly requestId?: string;
}

/** The first line of a token file that is not blank or a comment. */
export function firstToken(text: string): string | undefined {
  return text.split(/\r?\n/).map((line) => line.trim()).find((line) => line !== '' && !line.startsWith('#'));
}

/** Critical options the caller knows how to sign: nothing else, so an option it would drop fails closed. */
function isCriticalOptions(value: unknown): value is CriticalOptions {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { force_command: forceCommand, source_address: sources, ...rest } = value as Record<string, unknown>;
  return Object.keys(rest).length === 0 &&
    (forceCommand === undefined || isForceCommand(forceCommand)) &&
    (sources === undefined || (Array.isArray(sources) && sources.length > 0 && sources.every(isSourceAddress)));
}

/**
 * A grant ops-warden can sign exactly. One without the certificate fields (a flex-auth before
 * contract section 14) is refused: signing it would leave extensions to the signer's defaults.
 */
function isGrant(value: unknown, decisionId: string): value is CertificateGrant {
  const grant = value as CertificateGrant | undefined;
  return (
    typeof grant === 'object' && grant !== null &&
    Number.isSafeInteger(grant.ttl_seconds) && grant.ttl_seconds > 0 &&
    Array.isArray(grant.principals) && grant.principals.length > 0 &&
    grant.principals.every((p) => typeof p === 'string' && p.length > 0) &&
    isCertType(grant.cert_type) &&
    Array.isArray(grant.extensions) && grant.extensions.every((e) => typeof e === 'string' && isExtension(e)) &&
    isCriticalOptions(grant.critical_options) &&
    grant.key_id === decisionId
  );
}

/** A small typed client for flex-auth, fail-closed as ops-warden embeds it. */
export class FlexAuthClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly token: string | undefined;
  private readonly tokenFile: string | undefined;

  constructor(options: FlexAuthClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.token = options.token;
    this.tokenFile = options.tokenFile;
  }

  /** The Authorization header for this call, or a message saying why there is no token. */
  private async authorization(): Promise<Record<string, string> | string> {
    let token = this.token;
    if (this.tokenFile !== undefined) {
      try {
        token = firstToken(await readFile(this.tokenFile, 'utf8'));
      } catch (error) {
        return `cannot read token file ${this.tokenFile}: ${(error as Error).message}`;
      }
      if (token === undefined) return `token file ${this.tokenFile} has no token`;
    }
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  /** POSTs JSON with the caller's token; a failure to get any answer is returned as a deny's reason and message. */
  private async post(route: string, input: unknown, options: CallOptions): Promise<Response | { readonly reason: string; readonly message: string }> {
    const authorization = await this.authorization();
    if (typeof authorization === 'string') return { reason: 'no_token', message: authorization };
    try {
      return await fetch(`${this.baseUrl}${route}${options.explain ? '?explain=true' : ''}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...authorization,
          ...(options.requestId ? { 'x-request-id': options.requestId } : {}),
        },
        body: JSON.stringify(input),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      return { reason: timedOut ? 'timeout' : 'unreachable', message: `${this.baseUrl}: ${(error as Error).cause ?? (error as Error).message}` };
    }
  }

  /** Never throws: any failure is a deny. */
  async check(input: CheckInput, options: CallOptions = {}): Promise<CheckOutcome> {
    const response = await this.post('/v1/check', input, options);
    if (!(response instanceof Response)) return { allow: false, ...response };
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      return { allow: false, reason: 'bad_response', status: response.status, message: `HTTP ${response.status} with a body that is not JSON` };
    }
    const decision = body as Partial<Decision> & { error?: { code?: string; message?: string } };
    if (response.status === 200 && decision.allow === true && decision.reason === 'allowed' &&
        typeof decision.decision_id === 'string' && isGrant(decision.grant, decision.decision_id)) {
      return { allow: true, reason: 'allowed', decisionId: decision.decision_id, grant: decision.grant, decision: decision as Decision };
    }
    if (response.status === 200 && decision.allow === false && typeof decision.reason === 'string') {
      return {
        allow: false, reason: decision.reason, status: 200, message: decision.message ?? decision.reason,
        ...(typeof decision.decision_id === 'string' ? { decisionId: decision.decision_id } : {}),
        decision: decision as Decision,
      };
    }
    if (response.status === 200) {
      return { allow: false, reason: 'bad_response', status: 200, message: 'HTTP 200 without a well-formed decision' };
    }
    const reason = typeof decision.reason === 'string' ? decision.reason : 'http_error';
    const message = decision.error?.message ?? decision.message ?? `HTTP ${response.status}`;
    return { allow: false, reason, status: response.status, message: `HTTP ${response.status}: ${message}` };
  }

  /**
   * An AuthZEN 1.0 Access Evaluation (POST /access/v1/evaluation), for callers that speak
   * AuthZEN. Never throws, and fails closed like `check`: `decision` is true only for an
   * HTTP 200 whose `decision` is `true`.
   */
  async evaluate(input: AuthzenEvaluation, options: CallOptions = {}): Promise<EvaluationOutcome> {
    const response = await this.post('/access/v1/evaluation', input, options);
    if (!(response instanceof Response)) return { decision: false, ...response };
    let body: { decision?: unknown; context?: Record<string, any>; error?: { message?: string } };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      return { decision: false, reason: 'bad_response', status: response.status, message: `HTTP ${response.status} with a body that is not JSON` };
    }
    const context = typeof body.context === 'object' && body.context !== null ? body.context : {};
    if (response.status === 200 && typeof body.decision === 'boolean') {
      const reason = typeof context.reason === 'string' ? context.reason : body.decision ? 'allowed' : 'denied';
      if (body.decision) return { decision: true, reason, status: 200, context };
      return { decision: false, reason, status: 200, message: context.reason_admin?.en ?? reason, context };
    }
    if (response.status === 200) return { decision: false, reason: 'bad_response', status: 200, message: 'HTTP 200 without a boolean decision' };
    const reason = typeof context.reason === 'string' ? context.reason : 'http_error';
    return { decision: false, reason, status: response.status, message: `HTTP ${response.status}: ${body.error?.message ?? context.reason_admin?.en ?? reason}` };
  }

  /** The revision and source flex-auth reports on /v1/registry. */
  async registry(): Promise<RegistryInfo> {
    try {
      const response = await fetch(`${this.baseUrl}/v1/registry`, { signal: AbortSignal.timeout(this.timeoutMs) });
      const body = (await response.json()) as { revision?: unknown; source?: unknown };
      if (response.status === 200 && typeof body.revision === 'string' && typeof body.source === 'string') {
        return { ok: true, revision: body.revision, source: body.source };
      }
      return { ok: false, detail: `HTTP ${response.status} without a registry revision` };
    } catch (error) {
      return { ok: false, detail: `${(error as Error).cause ?? (error as Error).message}` };
    }
  }

  /** True only for HTTP 200 from /healthz within the deadline. */
  async healthy(): Promise<{ readonly ok: boolean; readonly detail: string }> {
    try {
      const response = await fetch(`${this.baseUrl}/healthz`, { signal: AbortSignal.timeout(this.timeoutMs) });
      await response.arrayBuffer();
      return { ok: response.status === 200, detail: `HTTP ${response.status}` };
    } catch (error) {
      return { ok: false, detail: `${(error as Error).cause ?? (error as Error).message}` };
    }
  }
}
