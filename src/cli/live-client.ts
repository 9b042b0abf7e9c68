import { FlexAuthClient, firstToken } from '../client/flex-auth-client.js';
import { InputError, readInput, UsageError } from './io.js';

/**
 * The client `smoke` and `test --url` talk to a running flex-auth with, from their shared
 * flags (`--url`, `--timeout-ms`, `--token-file`), each checked first. The token file is read
 * here only to refuse a bad one up front; the client reads it again for every call.
 */
export async function liveClient(url: string, timeoutText: string, tokenFile: string | undefined): Promise<FlexAuthClient> {
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new UsageError(`--url must be an http(s) URL (got ${url})`);
  const timeoutMs = Number(timeoutText);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError('--timeout-ms must be a positive whole number');
  if (tokenFile !== undefined && firstToken(await readInput(tokenFile)) === undefined) throw new InputError(`--token-file ${tokenFile} has no token`);
  return new FlexAuthClient({ baseUrl: url, timeoutMs, ...(tokenFile === undefined ? {} : { tokenFile }) });
}
