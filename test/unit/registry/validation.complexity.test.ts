import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import fc from 'fast-check';
import { RegistryValidationError } from '../../../src/core/errors.js';
import { loadRegistry } from '../../../src/registry/load.js';
import { text } from '../../fixtures/registry.js';
import { groupSubjects, registryOfShape, SHAPES } from '../../helpers/registry-shapes.js';
import type { Shape } from '../../helpers/registry-shapes.js';

/**
 * Loading cost grows linearly with the registry, whatever its shape. Asserted on ratios only:
 * the cost at 4N over the cost at N is 4 when linear and 16 when quadratic; the bound of 9
 * leaves room for a shared machine and for hash tables, which grow by doubling.
 * bench/scale/validation-complexity.mjs prints the figures themselves.
 */

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const BASE_SIZE: Record<Shape, number> = { chain: 4_000, wide: 10_000, actors: 3_000, 'bad-actors': 5_000, cycles: 4_000 };
const RUNS = 5;
const GROWTH = 4;
const MAX_RATIO = 9;

/** Loads (or refuses) a registry, then checks every group-granted subject once, as traffic would. */
function loadAndCheck(shape: Shape, size: number, registryText: string): unknown {
  try {
    const registry = loadRegistry(registryText);
    for (const subject of groupSubjects(shape, size)) registry.isSigner('agt-0', subject) || registry.isSigner('agt-a', subject);
    return registry;
  } catch (error) {
    if (error instanceof RegistryValidationError) return error;
    throw error;
  }
}

/** Best of RUNS (the least disturbed by other work): the time and the heap kept (result alive) of loading the shape at `size`. */
function cost(shape: Shape, size: number): { ms: number; bytes: number } {
  const registryText = text(registryOfShape(shape, size));
  let ms = Infinity;
  let bytes = Infinity;
  let kept: unknown;
  for (let run = 0; run < RUNS; run++) {
    kept = undefined;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const start = performance.now();
    kept = loadAndCheck(shape, size, registryText);
    ms = Math.min(ms, performance.now() - start);
    gc();
    bytes = Math.min(bytes, Math.max(1, process.memoryUsage().heapUsed - heapBefore));
  }
  expect(kept).not.to.equal(undefined);
  return { ms, bytes };
}

describe('registry loading cost (complexity)', () => {
  it('grows linearly in time and memory with nesting depth, group width, actors, errors and cycles', function () {
    this.timeout(300_000);
    // Every shape, in any order, at a base size varied by up to half.
    fc.assert(fc.property(fc.shuffledSubarray([...SHAPES], { minLength: SHAPES.length }), fc.integer({ min: 100, max: 150 }), (shapes, percent) => {
      for (const shape of shapes) {
        const size = Math.round((BASE_SIZE[shape] * percent) / 100);
        // Measured again when over the bound: other work on a shared machine slows one side only
        // now and then, while a quadratic cost is over it every time.
        let figures = '';
        let timeRatio = Infinity;
        let memoryRatio = Infinity;
        for (let attempt = 0; attempt < 2 && (timeRatio >= MAX_RATIO || memoryRatio >= MAX_RATIO); attempt++) {
          const small = cost(shape, size);
          const large = cost(shape, GROWTH * size);
          figures += `${shape} at ${size}: ${small.ms.toFixed(1)} ms, ${small.bytes} B; at ${GROWTH * size}: ${large.ms.toFixed(1)} ms, ${large.bytes} B. `;
          timeRatio = Math.min(timeRatio, large.ms / small.ms);
          // Memory kept is only measurable when it is more than the heap's noise.
          memoryRatio = Math.min(memoryRatio, large.bytes > 4_000_000 ? large.bytes / small.bytes : 0);
        }
        expect(timeRatio, figures).to.be.below(MAX_RATIO);
        expect(memoryRatio, figures).to.be.below(MAX_RATIO);
      }
    }), { numRuns: 1 });
  });
});
