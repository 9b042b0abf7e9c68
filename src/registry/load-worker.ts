import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { RegistryValidationError } from '../core/errors.js';
import type { ErrorDetail } from '../core/errors.js';
import type { RegistryDocument } from './document.js';
import { validateRegistry } from './load.js';
import { groupGraphOfDocument } from './references.js';
import { revisionOfValid } from './revision.js';

/**
 * The part of a reload that needs no shared state, run off the event loop: hash, parse,
 * validate and compute the revision of the document in `workerData` (text, or UTF-8 bytes). A valid document goes back to the main
 * thread in batches of BATCH entries, one per `next` the main thread sends: a port delivers
 * every message already queued in one go, so batches sent unasked would arrive as one long
 * pause instead of slices between the checks the main thread answers.
 */

export const BATCH = 2000;

/** What the main thread sends: `next` when it is ready for the next batch. */
export type WorkerRequest = 'next';

export type WorkerMessage =
  | { readonly type: 'hash'; readonly hash: string }
  | { readonly type: 'invalid'; readonly details: readonly ErrorDetail[] }
  | { readonly type: 'head'; readonly revision: string; readonly document: Omit<RegistryDocument, 'actors' | 'relationships'> }
  | { readonly type: 'actors' | 'relationships'; readonly items: readonly unknown[] }
  | { readonly type: 'done' };

function post(message: WorkerMessage): void {
  parentPort!.postMessage(message);
}

function validated(text: string): { document: RegistryDocument; revision: string } | ErrorDetail[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return [{ path: '', message: `not valid JSON: ${(error as Error).message}` }];
  }
  const errors = validateRegistry(document, groupGraphOfDocument(document));
  if (errors.length > 0) return errors;
  const valid = document as RegistryDocument;
  return { document: valid, revision: revisionOfValid(valid) };
}

/** The text of a document given as UTF-8 bytes; a RegistryValidationError if they are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new RegistryValidationError([{ path: '', message: 'not valid UTF-8' }]);
  }
}

if (parentPort) {
  const input = workerData as string | Uint8Array;
  // First, so the store can stop here for a document it has already handled.
  post({ type: 'hash', hash: createHash('sha256').update(input).digest('hex') });
  let result: ReturnType<typeof validated>;
  try {
    result = validated(typeof input === 'string' ? input : decodeUtf8(input));
  } catch (error) {
    if (!(error instanceof RegistryValidationError)) throw error;
    result = [...error.details];
  }
  if (Array.isArray(result)) {
    post({ type: 'invalid', details: result });
  } else {
    const { actors, relationships, ...head } = result.document;
    const tuples = relationships ?? [];
    const batches: WorkerMessage[] = [];
    for (let i = 0; i < actors.length; i += BATCH) batches.push({ type: 'actors', items: actors.slice(i, i + BATCH) });
    for (let i = 0; i < tuples.length; i += BATCH) batches.push({ type: 'relationships', items: tuples.slice(i, i + BATCH) });
    batches.push({ type: 'done' });
    parentPort.on('message', () => {
      const batch = batches.shift();
      if (batch !== undefined) post(batch);
    });
    post({ type: 'head', revision: result.revision, document: head });
  }
}
