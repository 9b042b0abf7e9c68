import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { RegistryValidationError } from '../core/errors.js';
import type { ErrorDetail } from '../core/errors.js';
import type { RegistryDocument } from './document.js';
import { validateRegistry } from './load.js';
import { BATCH, decodeUtf8 } from './load-in-worker.js';
import type { WorkerMessage } from './load-in-worker.js';
import { groupGraphOfDocument } from './references.js';
import { revisionOfValid } from './revision.js';

/**
 * The worker's side of load-in-worker.ts: the part of a reload that needs no shared state, run
 * off the event loop. Hashes, decodes, parses and validates the document in `workerData` (text,
 * or UTF-8 bytes) and computes its revision. A valid document goes back to the main thread in
 * batches of BATCH entries, one per `next` the main thread sends: a port delivers every message
 * already queued in one go, so batches sent unasked would arrive as one long pause instead of
 * slices between the checks the main thread answers.
 */

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
