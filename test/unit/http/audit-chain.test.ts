import { expect } from 'chai';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { sealLine, splitChained } from '../../../src/http/audit-chain.js';

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);

describe('sealLine', () => {
  it('writes head, chain member, tail, and chains the head and tail to the previous chain, whatever they hold', () => {
    fc.assert(fc.property(hex64, fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), fc.string(), (previous, head, tail, piece) => {
      // A head built by concatenation, as the decision log builds it.
      const built = `${head}${piece}`;
      const { line, chain } = sealLine(previous, built, tail);
      const expected = createHash('sha256').update(previous).update(built).update(tail).digest('hex');
      expect(chain).to.equal(expected);
      expect(line).to.equal(`${built},"chain":"${expected}"${tail}`);
    }));
  });

  it('seals a line that audit verify splits back into the same content and chain', () => {
    const previous = 'a'.repeat(64);
    const { line, chain } = sealLine(previous, '{"level":"info","seq":1', ',"msg":"decision"}');
    expect(splitChained(line)).to.deep.equal({ content: '{"level":"info","seq":1,"msg":"decision"}', chain });
  });
});
