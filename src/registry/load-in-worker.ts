import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { RegistryValidationError, ROOT_PATH } from '../core/errors.js';
import type { ErrorDetail } from '../core/errors.js';
import { decodeUtf8Strictly } from '../core/utf8.js';
import { RegistryCompiler } from './compiled-registry.js';
import type { CompiledRegistry } from './compiled-registry.js';
import type { ActorEntry, RegistryDocument, RelationshipTuple } from './document.js';
import { validateRegistryText } from './load.js';
import type { ValidDocument } from './load.js';
import { groupGraphOfDocument } from './references.js';

/** The text of a document given as UTF-8 bytes; a RegistryValidationError if they are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return decodeUtf8Strictly(bytes);
  } catch {
    throw new RegistryValidationError([{ path: ROOT_PATH, message: 'not valid UTF-8' }]);
  }
}

/** Entries per batch the worker sends back (load-worker.ts). */
export const BATCH = 2000;

/** What the main thread sends: `next` when it is ready for the next batch. */
export type WorkerRequest = 'next';

/** What the worker sends: its hash first, then `invalid`, or `head`, relationships and actors in batches, and `done`. */
export type WorkerMessage =
  | { readonly type: 'hash'; readonly hash: string }
  | { readonly type: 'invalid'; readonly details: readonly ErrorDetail[]; readonly total: number }
  | { readonly type: 'head'; readonly revision: string; readonly document: Omit<RegistryDocument, 'actors' | 'relationships'> }
  | { readonly type: 'actors' | 'relationships'; readonly items: readonly unknown[] }
  | { readonly type: 'done' };

/**
 * The worker's side (load-worker.ts, a thin adapter that posts these): the hash of `input` (text,
 * or UTF-8 bytes) first, so the store can stop there for a document it has already handled; then
 * `invalid`, or the `head` with the revision followed by the relationships and then the actors in
 * batches of BATCH entries, and `done`. Lazy, so nothing is validated before the hash is taken, and a batch is
 * cut only when the main thread asks for it. Here, not in the worker, so it can be tested in-process.
 */
export function* workerMessages(input: string | Uint8Array): Generator<WorkerMessage, void, undefined> {
  yield { type: 'hash', hash: createHash('sha256').update(input).digest('hex') };
  let result: ValidDocument;
  try {
    result = validateRegistryText(typeof input === 'string' ? input : decodeUtf8(input));
  } catch (error) {
    // Stryker disable next-line ConditionalExpression: validateRegistryText throws only RegistryValidationError.
    if (!(error instanceof RegistryValidationError)) throw error;
    yield { type: 'invalid', details: error.details, total: error.total };
    return;
  }
  const { actors, relationships, ...head } = result.document;
  yield { type: 'head', revision: result.revision, document: head };
  // Relationships first: the main thread compiles each batch of actors as it arrives (RegistryCompiler).
  const tuples = relationships ?? [];
  for (let i = 0; i < tuples.length; i += BATCH) yield { type: 'relationships', items: tuples.slice(i, i + BATCH) };
  for (let i = 0; i < actors.length; i += BATCH) yield { type: 'actors', items: actors.slice(i, i + BATCH) };
  yield { type: 'done' };
}

/** What an off-thread load found; `hash` is the text's sha256, for the store's memory of texts. */
export type OffThreadResult =
  | { readonly hash: string; readonly registry: CompiledRegistry }
  | { readonly hash: string; readonly error: unknown }
  | { readonly hash: string; readonly repeated: true };

/**
 * Hashes, decodes, parses and validates a document (text or UTF-8 bytes) in a worker thread
 * (load-worker.ts), then compiles it here: the compiled registry (maps and sets) must live on
 * this thread, so the worker hands the document over in batches, each compiled as it arrives,
 * and neither copying nor compiling blocks checks for long. `isRepeat` stops early for a
 * document already handled. Rejects only if the worker itself fails.
 */
export function loadInWorker(document: string | Uint8Array, isRepeat: (hash: string) => boolean): Promise<OffThreadResult> {
  return new Promise((resolve, reject) => {
    // Bytes move to the worker (a string would be copied, slowly, on this thread); a view of
    // part of a larger buffer is copied first, so that nothing else is taken away.
    const bytes = typeof document === 'string' || document.byteLength === document.buffer.byteLength ? document : document.slice();
    const transferList = typeof bytes === 'string' ? [] : [bytes.buffer as ArrayBuffer];
    const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: bytes, transferList });
    // A reload in progress never keeps a stopping process alive.
    worker.unref();
    // Stryker disable next-line StringLiteral: set by the first message, before any result.
    let hash = '';
    // Stryker disable next-line StringLiteral: set by the head, before any batch.
    let revision = '';
    let head: Omit<RegistryDocument, 'actors' | 'relationships'> | undefined;
    const relationships: RelationshipTuple[] = [];
    // Made at the first batch of actors, when every relationship has arrived.
    let compiler: RegistryCompiler | undefined;
    const finish = (result: OffThreadResult) => {
      void worker.terminate();
      resolve(result);
    };
    // The next batch is asked for only after a turn of the event loop, so checks get theirs.
    // Stryker disable next-line StringLiteral: the worker takes any message as a request for the next batch.
    const next = () => setImmediate(() => worker.postMessage('next' satisfies WorkerRequest));
    worker.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'hash':
          hash = message.hash;
          // Stryker disable next-line BooleanLiteral: the store tells a repeat by the key alone.
          if (isRepeat(hash)) finish({ hash, repeated: true });
          break;
        case 'invalid':
          finish({ hash, error: new RegistryValidationError(message.details, message.total) });
          break;
        case 'head':
          ({ revision, document: head } = message);
          next();
          break;
        case 'relationships':
          for (const item of message.items) relationships.push(item as RelationshipTuple);
          next();
          break;
        case 'actors':
          compiler ??= new RegistryCompiler(relationships);
          compiler.add(message.items as ActorEntry[]);
          next();
          break;
        case 'done':
          try {
            // A valid document lists at least one actor, so the compiler is there (were it not, this throws: refused).
            finish({ hash, registry: compiler!.finish(head!, revision, groupGraphOfDocument({ relationships })) });
          } catch (error) {
            // Stryker disable next-line ObjectLiteral: compiling a validated document does not fail; this is fail-closed defence.
            finish({ hash, error });
          }
      }
    });
    // Only a worker that fails outside validation (out of memory, say) gets to these two; no test makes one.
    // Stryker disable next-line StringLiteral
    worker.on('error', reject);
    // After a result this changes nothing; without one, the worker died (e.g. out of memory).
    // Stryker disable next-line StringLiteral,ArrowFunction
    worker.on('exit', (code) => reject(new Error(`the validating worker stopped (exit code ${code})`)));
  });
}
