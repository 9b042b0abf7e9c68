import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';

/** A caller's id, kept as given when it matches; a reply and a decision line write it unescaped. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `X-Request-Id` when well-formed, else a new one, so every call can be found in the log. */
export function requestIdFor(given: string | string[] | undefined): string {
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

/** Koa's end of it: sets the id on the context and the response. */
export async function requestId(ctx: Context, next: Next): Promise<void> {
  ctx.state.requestId = requestIdFor(ctx.get('X-Request-Id') || undefined);
  ctx.set('X-Request-Id', ctx.state.requestId as string);
  await next();
}
