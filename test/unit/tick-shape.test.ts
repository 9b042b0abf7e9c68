import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { PACKAGE_ROOT } from '../helpers/paths.js';

/**
 * process.nextTick's property definitions keep their inline caches monomorphic through a full GC
 * that runs while no tick is pending, once holdTickShape has run (src/tick-shape.ts). A fresh
 * process each time: this one has long since collected and ticked its own way. The caches' states
 * are V8's own report (`%DebugPrint` of the function), read from its feedback slots.
 */
function nextTickCacheStates(hold: boolean): string[] {
  const tickShape = pathToFileURL(path.join(PACKAGE_ROOT, 'dist', 'src', 'tick-shape.js')).href;
  const script = `
    ${hold ? `(await import(${JSON.stringify(tickShape)})).holdTickShape();` : ''}
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    function work() {}
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 100; i++) process.nextTick(work, i);
      await settle();
      globalThis.gc();
    }
    for (let i = 0; i < 100; i++) process.nextTick(work);
    await settle();
    %DebugPrint(process.nextTick);
  `;
  const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(run.status, run.stderr).to.equal(0);
  return [...run.stdout.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((m) => m[1]!);
}

describe('the shape of process.nextTick\'s tick objects', () => {
  it('turns nextTick megamorphic after a full GC between ticks, unless a tick object is held', () => {
    // The control: without it, the defect shows (if V8 ever reports it otherwise, this says so).
    const bare = nextTickCacheStates(false);
    expect(bare, 'V8 reports the tick literal\'s property definitions').to.have.length.greaterThan(0);
    expect(bare).to.include('MEGAMORPHIC');
    const held = nextTickCacheStates(true);
    expect(held).to.have.length(bare.length);
    expect(held.every((state) => state === 'MONOMORPHIC'), held.join(' ')).to.equal(true);
  });
});
