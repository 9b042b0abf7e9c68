import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { InvalidRequestError } from '../core/errors.js';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';

export const MAX_BODY_BYTES = 64 * 1024;

/** Reads a JSON body: 415 unless `application/json`, 413 above the limit, 400 if not JSON. */
export async function readJsonBody(ctx: Context, limit = MAX_BODY_BYTES): Promise<unknown> {
  if (!ctx.is('application/json')) throw new UnsupportedMediaTypeError(ctx.get('Content-Type') || undefined);
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit, length: ctx.get('Content-Length') || undefined, encoding: 'utf8' });
  } catch (error) {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') throw new PayloadTooLargeError(limit);
    if (type === 'request.size.invalid' || type === 'request.aborted') throw new InvalidRequestError('request body was cut short');
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError(`request body is not valid JSON: ${(error as Error).message}`);
  }
}
