import { readFile } from 'node:fs/promises';
import { isCertType, isExtensionList, isPlainCriticalOptions, sameList, sortedUnique } from '../core/certificate.js';
import type { CertType, CriticalOptions } from '../core/certificate.js';
import { parseDuration } from '../core/duration.js';
import { isPlainObject } from '../core/json-shape.js';
import { PRINCIPAL_PATTERN } from '../core/patterns.js';
import type { CertificateGrant, Decision } from '../core/types.js';

/** The most of an answer read: a decision is a few hundred bytes, an explained one a few KB. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

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
 * extensions, critical options and key id, which the caller signs exactly) and no wider than
 * the request asked; every other outcome (deny, 4xx, 5xx, a redirect, timeout, unreachable, an
 * unparsable or oversized body) is `allow: false` with a reason saying why.
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
    // The contract's principal rule: one with a comma would split into two when signed.
    grant.principals.every((p) => typeof p === 'string' && PRINCIPAL_PATTERN.test(p)) &&
    isCertType(grant.cert_type) &&
    isExtensionList(grant.extensions) &&
    // Only the options the caller knows how to sign: one it would drop fails closed.
    isPlainCriticalOptions(grant.critical_options) &&
    grant.key_id === decisionId
  );
}

/**
 * Why `grant` is wider than what `context` asked for, or undefined. flex-auth grants exactly
 * what a request names (and the actor's defaults for the rest, which only it knows): an answer
 * granting more than was asked did not come from flex-auth's policy, and is not signed.
 */
function widerThanAsked(grant: CertificateGrant, context: CheckInput['context']): string | undefined {
  const asked = context ?? {};
  if (asked.principals !== undefined) {
    const extra = grant.principals.filter((principal) => !asked.principals!.includes(principal));
    if (extra.length > 0) return `principals not asked for: ${extra.join(', ')}`;
  }
  if (asked.ttl !== undefined) {
    const ttl = parseDuration(asked.ttl);
    if (!ttl.ok || grant.ttl_seconds > ttl.seconds) return `ttl ${grant.ttl_seconds}s beyond the ${String(asked.ttl)} asked for`;
  }
  if (grant.cert_type !== (asked.cert_type ?? 'user')) return `cert_type ${grant.cert_type}, not the ${asked.cert_type ?? 'user'} asked for`;
  if (asked.extensions !== undefined) {
    const extra = grant.extensions.filter((extension) => !asked.extensions!.includes(extension));
    if (extra.length > 0) return `extensions not asked for: ${extra.join(', ')}`;
  }
  const options = asked.critical_options ?? {};
  const granted = grant.critical_options;
  if (options.force_command !== undefined && granted.force_command !== options.force_command) return 'without the force_command asked for';
  if (options.source_address !== undefined) {
    // flex-auth grants the asked list sorted and de-duplicated, as the decision id sees it.
    if (!sameList(sortedUnique(granted.source_address ?? []), sortedUnique(options.source_address))) return 'without the source_address asked for';
  }
  return undefined;
}

/** An answer's status and parsed body, or why there is none: a deny's reason and message. */
type Answer = { readonly status: number; readonly body: unknown };
type Failure = { readonly reason: string; readonly message: string; readonly status?: number };

/** The body as text, refused past `limit` bytes (declared or received) without reading the rest. */
async function boundedText(response: Response, limit: number): Promise<string | undefined> {
  if (Number(response.headers.get('content-length')) > limit) {
    await response.body?.cancel();
    return undefined;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    // Leaving the loop cancels the stream: the rest is never read.
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
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

  /**
   * One exchange under one deadline (connecting, the answer and its body), never following a
   * redirect (another server's answer is not flex-auth's), reading at most MAX_ANSWER_BYTES.
   */
  private async exchange(url: string, init: RequestInit): Promise<Answer | Failure> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    const failed = (error: unknown): Failure => (signal.aborted
      ? { reason: 'timeout', message: `${this.baseUrl}: no answer within ${this.timeoutMs} ms` }
      : { reason: 'unreachable', message: `${this.baseUrl}: ${(error as Error).cause ?? (error as Error).message}` });
    let response: Response;
    let text: string | undefined;
    try {
      response = await fetch(url, { ...init, redirect: 'manual', signal });
      text = await boundedText(response, MAX_ANSWER_BYTES);
    } catch (error) {
      return failed(error);
    }
    const { status } = response;
    if (text === undefined) return { reason: 'bad_response', status, message: `HTTP ${status} with a body over ${MAX_ANSWER_BYTES} bytes` };
    try {
      return { status, body: JSON.parse(text) as unknown };
    } catch {
      return { reason: 'bad_response', status, message: `HTTP ${status} with a body that is not JSON` };
    }
  }

  /** POSTs JSON with the caller's token; a failure to get any answer is returned as a deny's reason and message. */
  private async post(route: string, input: unknown, options: CallOptions): Promise<Answer | Failure> {
    const authorization = await this.authorization();
    if (typeof authorization === 'string') return { reason: 'no_token', message: authorization };
    let body: string;
    try {
      body = JSON.stringify(input);
    } catch (error) {
      return { reason: 'bad_request', message: `the request cannot be sent as JSON: ${(error as Error).message}` };
    }
    return this.exchange(`${this.baseUrl}${route}${options.explain ? '?explain=true' : ''}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...authorization,
        ...(options.requestId ? { 'x-request-id': options.requestId } : {}),
      },
      body,
    });
  }

  /** Never throws: any failure is a deny. */
  async check(input: CheckInput, options: CallOptions = {}): Promise<CheckOutcome> {
    const answer = await this.post('/v1/check', input, options);
    if (!('body' in answer)) return { allow: false, ...answer };
    const { status } = answer;
    const decision = (isPlainObject(answer.body) ? answer.body : {}) as Partial<Decision> & { error?: { code?: string; message?: string } };
    if (status === 200 && decision.allow === true && decision.reason === 'allowed' &&
        typeof decision.decision_id === 'string' && isGrant(decision.grant, decision.decision_id)) {
      const wider = widerThanAsked(decision.grant, input.context);
      if (wider !== undefined) return { allow: false, reason: 'bad_response', status: 200, message: `HTTP 200 allow with a grant wider than asked: ${wider}` };
      return { allow: true, reason: 'allowed', decisionId: decision.decision_id, grant: decision.grant, decision: decision as Decision };
    }
    if (status === 200 && decision.allow === false && typeof decision.reason === 'string') {
      return {
        allow: false, reason: decision.reason, status: 200, message: decision.message ?? decision.reason,
        ...(typeof decision.decision_id === 'string' ? { decisionId: decision.decision_id } : {}),
        decision: decision as Decision,
      };
    }
    if (status === 200) {
      return { allow: false, reason: 'bad_response', status: 200, message: 'HTTP 200 without a well-formed decision' };
    }
    const reason = typeof decision.reason === 'string' ? decision.reason : 'http_error';
    const message = (isPlainObject(decision.error) ? decision.error.message : undefined) ?? decision.message ?? `HTTP ${status}`;
    return { allow: false, reason, status, message: `HTTP ${status}: ${message}` };
  }

  /**
   * An AuthZEN 1.0 Access Evaluation (POST /access/v1/evaluation), for callers that speak
   * AuthZEN. Never throws, and fails closed like `check`: `decision` is true only for an
   * HTTP 200 whose `decision` is `true`.
   */
  async evaluate(input: AuthzenEvaluation, options: CallOptions = {}): Promise<EvaluationOutcome> {
    const answer = await this.post('/access/v1/evaluation', input, options);
    if (!('body' in answer)) return { decision: false, ...answer };
    const { status } = answer;
    const body = (isPlainObject(answer.body) ? answer.body : {}) as { decision?: unknown; context?: unknown; error?: { message?: string } };
    const context: Record<string, any> = isPlainObject(body.context) ? body.context : {};
    if (status === 200 && typeof body.decision === 'boolean') {
      const reason = typeof context.reason === 'string' ? context.reason : body.decision ? 'allowed' : 'denied';
      if (body.decision) return { decision: true, reason, status: 200, context };
      return { decision: false, reason, status: 200, message: context.reason_admin?.en ?? reason, context };
    }
    if (status === 200) return { decision: false, reason: 'bad_response', status: 200, message: 'HTTP 200 without a boolean decision' };
    const reason = typeof context.reason === 'string' ? context.reason : 'http_error';
    const message = (isPlainObject(body.error) ? body.error.message : undefined) ?? context.reason_admin?.en ?? reason;
    return { decision: false, reason, status, message: `HTTP ${status}: ${message}` };
  }

  /** The revision and source flex-auth reports on /v1/registry. */
  async registry(): Promise<RegistryInfo> {
    const answer = await this.exchange(`${this.baseUrl}/v1/registry`, {});
    if (!('body' in answer)) return { ok: false, detail: answer.message };
    const body = (isPlainObject(answer.body) ? answer.body : {}) as { revision?: unknown; source?: unknown };
    if (answer.status === 200 && typeof body.revision === 'string' && typeof body.source === 'string') {
      return { ok: true, revision: body.revision, source: body.source };
    }
    return { ok: false, detail: `HTTP ${answer.status} without a registry revision` };
  }

  /**
   * True only for HTTP 200 from /healthz within the deadline. With `--diagnostic-port` (the
   * chart's default) /healthz is on that port: ask a client whose `baseUrl` is the diagnostic URL.
   */
  async healthy(): Promise<{ readonly ok: boolean; readonly detail: string }> {
    const answer = await this.exchange(`${this.baseUrl}/healthz`, {});
    if ('body' in answer) return { ok: answer.status === 200, detail: `HTTP ${answer.status}` };
    return { ok: false, detail: answer.status === undefined ? answer.message : `HTTP ${answer.status}: ${answer.message}` };
  }
}
