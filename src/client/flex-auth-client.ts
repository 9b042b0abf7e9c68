import { readFile } from 'node:fs/promises';
import type { Decision, Grant } from '../core/types.js';

/** A check as a caller builds it; durations may be `"1h"` or seconds, as on the wire. */
export interface CheckInput {
  readonly subject: { readonly id: string };
  readonly action: string;
  readonly resource: { readonly type?: string; readonly id: string };
  readonly context?: {
    readonly ttl?: string | number;
    readonly principals?: readonly string[];
    readonly metadata?: Readonly<Record<string, unknown>>;
  };
}

/**
 * What a caller acts on. `allow` is true only for an HTTP 200 decision whose `allow` is
 * `true` and whose grant is well-formed; every other outcome (deny, 4xx, 5xx, timeout,
 * unreachable, unparsable body) is `allow: false` with a reason saying why.
 */
export type CheckOutcome =
  | { readonly allow: true; readonly reason: 'allowed'; readonly decisionId: string; readonly grant: Grant; readonly decision: Decision }
  | {
      readonly allow: false;
      /** A policy reason (`ttl_out_of_bounds`, …), `registry_unavailable`, or a client-side one: `http_error`, `unreachable`, `timeout`, `bad_response`, `no_token`. */
      readonly reason: string;
      readonly message: string;
      readonly status?: number;
      readonly decisionId?: string;
      readonly decision?: Decision;
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

function isGrant(value: unknown): value is Grant {
  const grant = value as Grant | undefined;
  return (
    typeof grant === 'object' && grant !== null &&
    Number.isSafeInteger(grant.ttl_seconds) && grant.ttl_seconds > 0 &&
    Array.isArray(grant.principals) && grant.principals.length > 0 &&
    grant.principals.every((p) => typeof p === 'string' && p.length > 0)
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

  /** Never throws: any failure is a deny. */
  async check(input: CheckInput, options: CallOptions = {}): Promise<CheckOutcome> {
    const authorization = await this.authorization();
    if (typeof authorization === 'string') return { allow: false, reason: 'no_token', message: authorization };
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/v1/check${options.explain ? '?explain=true' : ''}`, {
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
      return { allow: false, reason: timedOut ? 'timeout' : 'unreachable', message: `${this.baseUrl}: ${(error as Error).cause ?? (error as Error).message}` };
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      return { allow: false, reason: 'bad_response', status: response.status, message: `HTTP ${response.status} with a body that is not JSON` };
    }
    const decision = body as Partial<Decision> & { error?: { code?: string; message?: string } };
    if (response.status === 200 && decision.allow === true && decision.reason === 'allowed' &&
        typeof decision.decision_id === 'string' && isGrant(decision.grant)) {
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
