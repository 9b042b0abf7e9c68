import type { Context, Middleware } from 'koa';
import { InvalidRequestError } from '../../core/errors.js';
import { ANONYMOUS, callerGate } from '../auth.js';
import { readJsonBody } from '../body.js';
import { explainFlag, staleMessage } from '../check.js';
import type { DecisionLane } from '../check.js';
import type { AppDeps } from '../deps.js';
import { RegistryStaleError, RegistryUnavailableError } from '../errors.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { evaluate, evaluateAll } from './evaluation.js';
import type { Answer, EvaluationCall } from './evaluation.js';
import { isObject } from './request.js';
import type { Entity } from './request.js';
import { parseSearch, search } from './search.js';
import type { SearchKind } from './search.js';

/** The AuthZEN 1.0 default paths (the specification's endpoint table). */
export const AUTHZEN_PATHS = {
  evaluation: '/access/v1/evaluation',
  evaluations: '/access/v1/evaluations',
  searchSubject: '/access/v1/search/subject',
  searchResource: '/access/v1/search/resource',
  searchAction: '/access/v1/search/action',
} as const;
export const METADATA_PATH = '/.well-known/authzen-configuration';

/**
 * The body as a JSON object. AuthZEN's certification asks for a 400, not /v1/check's 415, for
 * a body that is not `application/json`; every other refusal keeps its status.
 */
function readBody(ctx: Context, limit: number): Promise<Entity> {
  return new Promise((resolve, reject) => {
    readJsonBody(ctx.req, limit, (error, body) => {
      if (error) return reject('status' in error && error.status === 415 ? new InvalidRequestError(error.message) : error);
      if (!isObject(body)) return reject(new InvalidRequestError('request body must be a JSON object'));
      resolve(body);
    });
  });
}

function answer(ctx: Context, { status, body }: Answer): void {
  ctx.status = status;
  ctx.body = body;
}

/**
 * The AuthZEN routes: POST handlers with the same caller authentication as /v1/check (checked
 * before the body is read), deciding through the check's own `DecisionLane`.
 */
export function authzenRoutes(deps: AppDeps, lane: DecisionLane): Record<string, Middleware> {
  const limit = (deps.limits ?? DEFAULT_LIMITS).maxBodyBytes;
  const gate = callerGate(deps);

  /** The caller, once authenticated as for /v1/check, and the body. */
  async function accepted(ctx: Context): Promise<{ caller: string; body: Entity }> {
    const caller = gate ? await gate.callerOf(ctx.get('Authorization') || undefined) : ANONYMOUS;
    return { caller, body: await readBody(ctx, limit) };
  }

  function decider(handler: (call: EvaluationCall, body: Entity) => Promise<Answer>): Middleware {
    return async (ctx) => {
      const startedAt = process.hrtime.bigint();
      const { caller, body } = await accepted(ctx);
      const call = { lane, registry: deps.store.current(), requestId: ctx.state.requestId as string, caller, startedAt, explain: explainFlag(ctx.url) };
      answer(ctx, await handler(call, body));
    };
  }

  function searcher(kind: SearchKind): Middleware {
    return async (ctx) => {
      const parsed = parseSearch(kind, (await accepted(ctx)).body);
      const registry = deps.store.current();
      if (!registry) throw new RegistryUnavailableError();
      const guard = deps.freshness?.();
      // Fail closed as checks do: a registry nobody has confirmed may still name a revoked signer.
      if (guard?.stale) throw new RegistryStaleError(staleMessage(guard));
      ctx.body = search(parsed, registry);
    };
  }

  return {
    [AUTHZEN_PATHS.evaluation]: decider(evaluate),
    [AUTHZEN_PATHS.evaluations]: decider(evaluateAll),
    [AUTHZEN_PATHS.searchSubject]: searcher('subject'),
    [AUTHZEN_PATHS.searchResource]: searcher('resource'),
    [AUTHZEN_PATHS.searchAction]: searcher('action'),
  };
}

/** `host[:port]`: a DNS name, IPv4 or bracketed IPv6 address, so the Host header cannot inject a path or another scheme. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * GET /.well-known/authzen-configuration. The PDP's identifier is the base URL the caller
 * used, from its Host header (the spec has the PEP check that the two are identical), with
 * `https` when a TLS-terminating proxy says so in `X-Forwarded-Proto`, else `http`: flex-auth
 * itself serves plain HTTP. A Host header that is not a plain host name and port is a 400.
 */
export function metadataHandler(): Middleware {
  return (ctx) => {
    const host = ctx.get('Host');
    if (!HOST.test(host)) throw new InvalidRequestError('the Host header must be a host name or address with an optional port');
    const scheme = ctx.get('X-Forwarded-Proto').toLowerCase() === 'https' ? 'https' : 'http';
    const base = `${scheme}://${host}`;
    ctx.body = {
      policy_decision_point: base,
      access_evaluation_endpoint: `${base}${AUTHZEN_PATHS.evaluation}`,
      access_evaluations_endpoint: `${base}${AUTHZEN_PATHS.evaluations}`,
      search_subject_endpoint: `${base}${AUTHZEN_PATHS.searchSubject}`,
      search_resource_endpoint: `${base}${AUTHZEN_PATHS.searchResource}`,
      search_action_endpoint: `${base}${AUTHZEN_PATHS.searchAction}`,
    };
  };
}
