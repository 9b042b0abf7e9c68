import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echoes a well-formed `X-Request-Id`, or makes one, so every call can be found in the log. */
export async function requestId(ctx: Context, next: Next): Promise<void> {
  const given = ctx.get('X-Request-Id');
  ctx.state.requestId = REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  ctx.state.startedAt = process.hrtime.bigint();
  ctx.set('X-Request-Id', ctx.state.requestId);
  await next();
}
