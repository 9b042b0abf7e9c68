import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { RegistryValidationError } from '../core/errors.js';
import { validateRegistryText } from './load.js';
import type { ValidDocument } from './load.js';
import { BATCH, decodeUtf8 } from './load-in-worker.js';
import type { WorkerMessage } from './load-in-worker.js';

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

if (parentPort) {
  const input = workerData as string | Uint8Array;
  // First, so the store can stop here for a document it has already handled.
  post({ type: 'hash', hash: createHash('sha256').update(input).digest('hex') });
  let result: ValidDocument | RegistryValidationError;
  try {
    result = validateRegistryText(typeof input === 'string' ? input : decodeUtf8(input));
  } catch (error) {
    if (!(error instanceof RegistryValidationError)) throw error;
    result = error;
  }
  if (result instanceof RegistryValidationError) {
    post({ type: 'invalid', details: result.details, total: result.total });
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
