import type { ReloadEvent, RegistryStore } from '../../src/registry/store.js';

/** Resolves with the store's next reload event; fails after `timeoutMs` instead of hanging. */
export function nextReload(store: RegistryStore, timeoutMs = 5000): Promise<ReloadEvent> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new Error(`no registry reload within ${timeoutMs} ms`));
    }, timeoutMs);
    store.onReload((event) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(event);
    });
  });
}

/** Resolves once `condition` holds, checking now and after every reload event. */
export function reloadedUntil(store: RegistryStore, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new Error(`condition not met within ${timeoutMs} ms; store status: ${JSON.stringify(store.status())}`));
    }, timeoutMs);
    store.onReload(() => {
      if (done || !condition()) return;
      done = true;
      clearTimeout(timer);
      resolve();
    });
  });
}
