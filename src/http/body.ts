import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { InvalidRequestError } from '../core/errors.js';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';

export const MAX_BODY_BYTES = 64 * 1024;

/** `application/json`, with or without parameters such as `charset=utf-8`. */
const JSON_MEDIA_TYPE = /^application\/json[ \t]*(?:;|$)/i;

/** Reads a JSON body: 415 unless `application/json`, 413 above the limit, 400 if not JSON. */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const type = req.headers['content-type'];
  if (!type || !JSON_MEDIA_TYPE.test(type)) throw new UnsupportedMediaTypeError(type);
  let text: string;
  try {
    text = await getRawBody(req, { limit, length: req.headers['content-length'], encoding: 'utf8' });
  } catch (error) {
    const kind = (error as { type?: string }).type;
    if (kind === 'entity.too.large') throw new PayloadTooLargeError(limit);
    if (kind === 'request.size.invalid' || kind === 'request.aborted') throw new InvalidRequestError('request body was cut short');
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError(`request body is not valid JSON: ${(error as Error).message}`);
  }
}
