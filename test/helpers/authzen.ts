/**
 * AuthZEN 1.0 calls and the shapes the specification gives its answers, written from the
 * specification text (openid/authzen api/authorization-api-1_0.md), not from flex-auth's code.
 */
import { request } from './http.js';
import type { HttpResult } from './http.js';

export const EVALUATION = '/access/v1/evaluation';
export const EVALUATIONS = '/access/v1/evaluations';
export const SEARCH_SUBJECT = '/access/v1/search/subject';
export const SEARCH_RESOURCE = '/access/v1/search/resource';
export const SEARCH_ACTION = '/access/v1/search/action';
export const METADATA = '/.well-known/authzen-configuration';

/** POST a JSON body (an object is serialised; a string is sent as is) to an AuthZEN path. */
export function postAuthzen(base: string, route: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  return request(`${base}${route}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A Decision: a boolean `decision` and, if present, an object `context`. */
export function isDecision(value: any): boolean {
  return typeof value === 'object' && value !== null && typeof value.decision === 'boolean' &&
    (value.context === undefined || (typeof value.context === 'object' && value.context !== null && !Array.isArray(value.context)));
}

/** A search answer: an array `results`; if `page` is present, an object whose `next_token` is a string. */
export function isSearchAnswer(value: any): boolean {
  return typeof value === 'object' && value !== null && Array.isArray(value.results) &&
    (value.page === undefined || (typeof value.page === 'object' && typeof value.page.next_token === 'string'));
}

/** Follows `next_token` to the end (bounded), returning every page's answer. */
export async function allPages(base: string, route: string, body: Record<string, unknown>, limit: number, maxPages = 200): Promise<HttpResult[]> {
  const pages: HttpResult[] = [];
  let token: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = await postAuthzen(base, route, { ...body, page: token === undefined ? { limit } : { token } });
    pages.push(page);
    if (page.status !== 200) return pages;
    token = page.body.page?.next_token as string | undefined;
    if (!token) return pages;
  }
  throw new Error(`more than ${maxPages} pages`);
}
