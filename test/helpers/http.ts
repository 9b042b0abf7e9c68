/** HTTP to a real server over loopback, and what the contract says its answers look like. */

export interface HttpResult<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body, or undefined when it is not JSON. */
  readonly body: T;
}

async function toResult(response: Response): Promise<HttpResult> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

export async function request(url: string, init: RequestInit = {}): Promise<HttpResult> {
  return toResult(await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(8000) }));
}

export function getJson(base: string, route: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return request(`${base}${route}`, { headers });
}

/** POST /v1/check with a JSON body (an object is serialised; a string is sent as is). */
export function postCheck(
  base: string,
  body: unknown,
  options: { query?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  return request(`${base}/v1/check${options.query ?? ''}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...options.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The contract's error body shape: `{error: {code, message, details: [{path, message}]}}`. */
export function isErrorBody(body: any): boolean {
  return (
    body !== null &&
    typeof body === 'object' &&
    Object.keys(body).length === 1 &&
    typeof body.error === 'object' &&
    typeof body.error.code === 'string' &&
    typeof body.error.message === 'string' &&
    Array.isArray(body.error.details) &&
    body.error.details.every((d: any) => typeof d?.path === 'string' && typeof d?.message === 'string')
  );
}

/** A V8 stack frame (`    at fn (file.js:1:2)`) or a file:line:col location anywhere in the text. */
export const STACK_FRAME = /(^|\n|\\n)\s*at\s+\S|\.(?:js|ts|mjs|cjs):\d+:\d+/;

export const DECISION_ID = /^decision:[0-9a-f]{16}$/;
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
