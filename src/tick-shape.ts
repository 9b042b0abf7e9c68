import { createHook } from 'node:async_hooks';

/**
 * One tick object of `process.nextTick`, kept for the life of the process so that V8 keeps its
 * hidden classes (maps).
 *
 * Node 20 builds each tick as `{ [async_id_symbol]: id, [trigger_async_id_symbol]: id, callback,
 * args }`. A literal with computed keys has no boilerplate that holds its maps, so a full GC that
 * runs while no tick is pending (an idle server; a large registry arriving from the loader worker
 * in batches) collects them. The next tick builds new ones, and the inline caches of nextTick's
 * property definitions, which named the old maps, turn megamorphic for good: from then on every
 * tick defines its properties in the runtime: 0.4 to 1.7 µs a call instead of about 0.05, for a
 * handful of calls a check (docs/performance.md, fifteenth pass). A live object of those maps
 * keeps them reachable, so the caches keep naming them.
 */
let held: object | undefined;

export function holdTickShape(): void {
  held ??= oneTick();
}

/**
 * A tick object as nextTick builds it, caught by an async hook that is on for that one call. Its
 * callback is a function of this module's and it has no arguments, so it keeps nothing else alive.
 */
function oneTick(): object | undefined {
  const seen: { tick?: object } = {};
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject') seen.tick ??= resource;
    },
  }).enable();
  process.nextTick(keepNothing);
  hook.disable();
  return seen.tick;
}

function keepNothing(): void {}
