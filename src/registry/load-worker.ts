import { parentPort, workerData } from 'node:worker_threads';
import type { ErrorDetail } from '../core/errors.js';
import type { RegistryDocument } from './document.js';
import { validateRegistry } from './load.js';
import { groupGraphOfDocument } from './references.js';
import { revisionOfValid } from './revision.js';

/**
 * The part of a reload that needs no shared state, run off the event loop: parse, validate and
 * compute the revision of the text in `workerData`. A valid document goes back to the main
 * thread in batches of BATCH entries, each a message of its own, so that the main thread
 * copies it in slices between the checks it answers rather than in one long pause.
 */

export const BATCH = 2000;

export type WorkerMessage =
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

if (parentPort) {
  const result = validated(workerData as string);
  if (Array.isArray(result)) {
    post({ type: 'invalid', details: result });
  } else {
    const { actors, relationships, ...head } = result.document;
    post({ type: 'head', revision: result.revision, document: head });
    for (let i = 0; i < actors.length; i += BATCH) post({ type: 'actors', items: actors.slice(i, i + BATCH) });
    const tuples = relationships ?? [];
    for (let i = 0; i < tuples.length; i += BATCH) post({ type: 'relationships', items: tuples.slice(i, i + BATCH) });
    post({ type: 'done' });
  }
}
