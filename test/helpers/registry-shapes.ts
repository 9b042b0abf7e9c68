import type { Json } from '../fixtures/registry.js';
import { actorEntry, member, registryDocument, signer } from '../fixtures/registry.js';

/**
 * Registries of a given shape and size, for complexity checks: each kind stresses one part of
 * loading (group nesting, group width, actor count, error count, cycles).
 */
export const SHAPES = ['chain', 'wide', 'actors', 'bad-actors', 'cycles'] as const;
export type Shape = (typeof SHAPES)[number];

export function registryOfShape(shape: Shape, size: number): Json {
  switch (shape) {
    case 'chain': {
      // size groups, each nested in the one before and with a member of its own.
      const relationships: Json[] = [signer('agt-a', 'group:g0#member')];
      for (let i = 0; i < size; i++) {
        relationships.push(member(`g${i}`, `iam:u${i}`));
        if (i + 1 < size) relationships.push(member(`g${i}`, `group:g${i + 1}#member`));
      }
      return registryDocument([actorEntry('agt-a')], relationships);
    }
    case 'wide': {
      // One group with size members, nested in ten groups that each grant an actor.
      const relationships: Json[] = Array.from({ length: size }, (_, i) => member('all', `iam:u${i}`));
      const actors = Array.from({ length: 10 }, (_, i) => actorEntry(`agt-${i}`, { allowed_subjects: [`group:top${i}#member`] }));
      for (let i = 0; i < 10; i++) relationships.push(member(`top${i}`, 'group:all#member'));
      return registryDocument(actors, relationships);
    }
    case 'actors':
      return registryDocument(Array.from({ length: size }, (_, i) => actorEntry(`agt-${i}`)));
    case 'bad-actors':
      return registryDocument(Array.from({ length: size }, (_, i) => actorEntry(`agt-${i}`, { type: 'robot', principals: ['bad principal'] })));
    case 'cycles': {
      // size / 2 two-group cycles, each one error.
      const relationships: Json[] = [];
      for (let i = 0; i < size / 2; i++) relationships.push(member(`a${i}`, `group:b${i}#member`), member(`b${i}`, `group:a${i}#member`));
      return registryDocument([actorEntry('agt-a')], relationships);
    }
  }
}

/**
 * Every subject a shape's registry grants through groups, for checks on it: the ones a
 * load must make findable, whatever it precomputes.
 */
export function groupSubjects(shape: Shape, size: number): string[] {
  return shape === 'chain' || shape === 'wide' ? Array.from({ length: size }, (_, i) => `iam:u${i}`) : [];
}
