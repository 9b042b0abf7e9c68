import { expect } from 'chai';
import { GroupGraph } from '../../../src/registry/groups.js';

/** A graph of `group:G#member` edges, declared in order; a subject `@X` stands for `group:X#member`. */
function graphOf(edges: readonly [string, string][]): GroupGraph {
  const graph = new GroupGraph();
  edges.forEach(([group, subject], index) => {
    graph.addMember(group, subject.startsWith('@') ? `group:${subject.slice(1)}#member` : subject, index);
  });
  return graph;
}

describe('the group graph (groups.ts)', () => {
  describe('findCycles', () => {
    // Built in each test, not when the file loads, so a mutant in building the graph is tested too.
    const threeCycles = () => graphOf([['a', '@a'], ['b', '@c'], ['c', '@b'], ['d', '@d']]);

    it('spells out the first `limit` cycles and only counts the rest', () => {
      expect(threeCycles().findCycles(2)).to.deep.equal({
        cycles: [{ index: 0, groups: ['a', 'a'] }, { index: 2, groups: ['b', 'c', 'b'] }],
        more: 1,
      });
      expect(threeCycles().findCycles(0)).to.deep.equal({ cycles: [], more: 3 });
      expect(threeCycles().findCycles(3).more).to.equal(0);
    });

    it('finds a cycle once when two paths lead into it', () => {
      const graph = graphOf([['x', '@a'], ['x', '@b'], ['a', '@c'], ['b', '@c'], ['c', '@d'], ['d', '@c'], ['d', 'iam:alice']]);
      expect(graph.findCycles(10)).to.deep.equal({ cycles: [{ index: 5, groups: ['c', 'd', 'c'] }], more: 0 });
    });

    it('finds no cycle in nesting that only shares a subgroup', () => {
      const graph = graphOf([['x', '@a'], ['x', '@b'], ['a', '@c'], ['b', '@c'], ['c', 'iam:alice']]);
      expect(graph.findCycles(10)).to.deep.equal({ cycles: [], more: 0 });
    });
  });

  describe('membership', () => {
    const membership = () => graphOf([
      ['x', 'iam:zed'], ['x', '@a'], ['x', '@b'], ['a', 'iam:alice'], ['a', '@c'], ['b', '@c'], ['b', 'iam:bob'], ['c', 'iam:alice'], ['c', 'iam:carol'],
    ]).membership();

    it('lists every member once, own subjects first, then nested groups depth first in declaration order', () => {
      expect(membership().members('x')).to.deep.equal(['iam:zed', 'iam:alice', 'iam:carol', 'iam:bob']);
      expect(membership().members('b')).to.deep.equal(['iam:bob', 'iam:alice', 'iam:carol']);
    });

    it('finds the path by the first declared way, and none for a non-member', () => {
      expect(membership().path('x', 'iam:carol')).to.deep.equal(['x', 'a', 'c']);
      expect(membership().path('b', 'iam:alice')).to.deep.equal(['b', 'c']);
      expect(membership().path('x', 'iam:zed')).to.deep.equal(['x']);
      expect(membership().path('a', 'iam:bob')).to.equal(undefined);
    });

    it('answers membership through nesting, and again the same', () => {
      const groups = membership();
      for (let round = 0; round < 2; round++) {
        expect(groups.isMember('x', 'iam:carol')).to.equal(true);
        expect(groups.isMember('a', 'iam:bob')).to.equal(false);
        expect(groups.isMember('c', 'iam:bob')).to.equal(false);
        expect(groups.isMember('b', 'iam:alice')).to.equal(true);
        expect(groups.isMember('x', 'iam:nobody')).to.equal(false);
      }
    });
  });
});
