import { parentPort, workerData } from 'node:worker_threads';
import { workerMessages } from './load-in-worker.js';

/**
 * The worker's side of load-in-worker.ts, off the event loop: posts what `workerMessages` makes
 * of the document in `workerData`. The hash and the verdict (`invalid`, or `head`) go at once;
 * each batch after that waits for a `next` from the main thread: a port delivers every message
 * already queued in one go, so batches sent unasked would arrive as one long pause instead of
 * slices between the checks the main thread answers.
 */
if (parentPort) {
  const port = parentPort;
  const messages = workerMessages(workerData as string | Uint8Array);
  const postNext = (): void => {
    const next = messages.next();
    if (!next.done) port.postMessage(next.value);
  };
  postNext();
  postNext();
  port.on('message', postNext);
}
