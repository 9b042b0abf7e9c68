import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import fc from 'fast-check';
import { RegistryValidationError } from '../../../src/core/errors.js';
import { loadRegistry } from '../../../src/registry/load.js';
import { revisionOf } from '../../../src/registry/revision.js';
import { RegistryStore } from '../../../src/registry/store.js';

type Json = Record<string, any>;

const PRODUCTION_TEXT = readFileSync(new URL('../../../../examples/ops-warden/production_registry_snapshot.json', import.meta.url), 'utf8');
const production = JSON.parse(PRODUCTION_TEXT) as Json;
const RUNS = 500;

function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => paths(v, [...prefix, k]))];
}
const allPaths = paths(production).filter((p) => p.length > 0);

const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, '', ' ', 0, -1, 1.5, '0s', '1d', '999999999h', [], {}, 'group:nobody#member', 'actor:ghost', 'group:a#member', 'Agt-X', 'a,b', 'x y'),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);

/** The production registry with one to four edits: a key removed, a value replaced, a key added. */
const mutatedRegistry: fc.Arbitrary<string> = fc.array(
  fc.record({ kind: fc.constantFrom('delete', 'set', 'add'), path: fc.constantFrom(...allPaths), key: fc.constantFrom('__proto__', 'constructor', 'extra', 'allowed_subject', 'min'), value: hostileValue }),
  { minLength: 1, maxLength: 4 },
).map((edits) => {
  const document = JSON.parse(PRODUCTION_TEXT) as Json;
  for (const edit of edits) {
    let parent: any = document;
    for (const key of edit.path.slice(0, -1)) parent = parent?.[key];
    const last = edit.path.at(-1)!;
    if (!parent || typeof parent !== 'object') continue;
    // A copy: constantFrom hands out the same [] and {} every time, and one set inside another would be a cycle.
    const value = structuredClone(edit.value);
    if (edit.kind === 'delete') Array.isArray(parent) ? parent.splice(Number(last), 1) : delete parent[last];
    else if (edit.kind === 'set') parent[last] = value;
    else if (parent[last] && typeof parent[last] === 'object' && !Array.isArray(parent[last])) {
      Object.defineProperty(parent[last], edit.key, { value, enumerable: true, configurable: true, writable: true });
    }
  }
  return JSON.stringify(document);
});

describe('hostile registry documents (property-based)', function () {
  this.timeout(120_000);

  it('never throw anything but a validation error out of the loader', () => {
    fc.assert(fc.property(fc.oneof(mutatedRegistry, fc.json({ maxDepth: 5 }), fc.string({ maxLength: 100 })), (text) => {
      try {
        const loaded = loadRegistry(text);
        expect(loaded.revision).to.equal(revisionOf(JSON.parse(text)));
      } catch (error) {
        expect(error).to.be.instanceOf(RegistryValidationError);
        expect((error as RegistryValidationError).details).to.not.be.empty;
      }
    }), { numRuns: RUNS });
  });

  it('never replace a good registry unless they are valid themselves', () => {
    let rejected = 0;
    fc.assert(fc.property(mutatedRegistry, (text) => {
      const store = new RegistryStore({ kind: 'file', name: 'file:/fuzz' });
      store.apply(PRODUCTION_TEXT);
      const good = store.current();
      const outcome = store.apply(text);
      if (outcome === 'rejected') {
        rejected += 1;
        expect(store.current()).to.equal(good);
        expect(store.status().last_error?.details).to.not.be.empty;
      } else {
        expect(() => loadRegistry(text)).not.to.throw();
        expect(store.current()?.revision).to.equal(revisionOf(JSON.parse(text)));
      }
    }), { numRuns: RUNS });
    expect(rejected, 'most random edits should break the document').to.be.greaterThan(RUNS / 4);
  });

  it('never accept a document that grants a subject the original did not, unless an edit says so', () => {
    // Edits that only delete keys can never widen access: a deleted allowed_subjects,
    // relationship or actor grants less, a deleted ttl or principals is invalid.
    const deletions = fc.array(fc.constantFrom(...allPaths), { minLength: 1, maxLength: 3 }).map((targets) => {
      const document = JSON.parse(PRODUCTION_TEXT) as Json;
      for (const target of targets) {
        let parent: any = document;
        for (const key of target.slice(0, -1)) parent = parent?.[key];
        const last = target.at(-1)!;
        if (parent && typeof parent === 'object') Array.isArray(parent) ? parent.splice(Number(last), 1) : delete parent[last];
      }
      return document;
    });
    const original = loadRegistry(PRODUCTION_TEXT);
    const subjects = ['agt-state-hub-bridge', 'iam:agt-state-hub-bridge', 'iam:alice', 'iam:bob', 'iam:carol', 'iam:mallory', 'atm-log-rotate'];
    fc.assert(fc.property(deletions, (document) => {
      let edited;
      try {
        edited = loadRegistry(JSON.stringify(document));
      } catch {
        return;
      }
      for (const actor of production.actors as Json[]) {
        for (const subject of subjects) {
          if (edited.signerPath(actor.name, subject)) expect(original.signerPath(actor.name, subject), `${subject} on ${actor.name}`).to.not.equal(undefined);
        }
      }
    }), { numRuns: RUNS });
  });
});
