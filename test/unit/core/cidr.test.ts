import { isIP } from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import { cidrContains, cidrProblem, parseCidr } from '../../../src/core/cidr.js';
import type { Cidr } from '../../../src/core/cidr.js';
import { addressValue, blockOf, blockText, contains, parseBlock } from '../../helpers/cidr-oracle.js';

/** CIDR blocks as sshd's source-address reads them, against the BigInt oracle (test/helpers/cidr-oracle.ts). */

const ipv4Block = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, p]) => blockText(blockOf(a, p)));
const ipv6Block = fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, p]) => blockText(blockOf(a, p)));
const block = fc.oneof(ipv4Block, ipv6Block);

function parsed(text: string): Cidr {
  const result = parseCidr(text);
  if (typeof result === 'string') throw new Error(`${text}: ${result}`);
  return result;
}


describe('CIDR blocks (source-address)', () => {
  it('accepts IPv4 and IPv6 blocks in their usual spellings', () => {
    for (const text of ['10.0.0.0/8', '0.0.0.0/0', '192.0.2.1/32', '2001:db8::/32', '::/0', '::1/128', 'fe80::/10', '::ffff:10.0.0.0/104', '2001:DB8:0:0:0:0:0:0/32']) {
      expect(cidrProblem(text), text).to.equal(undefined);
    }
  });

  it('reads `::` and an IPv4 tail as Node does: once, for one group or more, the IPv4 part only at the end', () => {
    const spellings = ['1.2.3.4::', '1.2.3.4::1', '::1.2.3.4:5', '1::2::3', '::ffff:1.2.3.4', '1:2:3:4:5:6:1.2.3.4',
      '1:2:3:4::5:6:7:8', '1::2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8'];
    for (const address of spellings) {
      expect(typeof parseCidr(`${address}/128`) === 'object', address).to.equal(isIP(address) === 6);
    }
  });

  it('refuses a bare address, a bad prefix, host bits, a zone and anything else, saying why', () => {
    const cases: [string, RegExp][] = [
      ['10.0.0.1', /a prefix length is required/],
      ['10.0.0.0/33', /0-32/],
      ['2001:db8::/129', /0-128/],
      ['10.0.0.0/08', /0-32/],
      ['10.0.0.0/', /0-32/],
      ['10.0.0.0/-1', /0-32/],
      ['10.0.0.0/8/8', /0-32/],
      ['10.0.0.1/8', /host bits are set after \/8/],
      ['2001:db8::1/64', /host bits are set after \/64/],
      ['fe80::%eth0/64', /is not an IP address/],
      ['010.0.0.0/8', /is not an IP address/],
      ['example.com/24', /is not an IP address/],
      [' 10.0.0.0/8', /is not an IP address/],
      ['/8', /is not an IP address/],
      ['*/0', /is not an IP address/],
    ];
    for (const [text, message] of cases) expect(cidrProblem(text), text).to.match(message);
  });

  it('reads as an address exactly what node:net does (zone ids aside), for generated and hostile text', () => {
    const hostile = fc.string({ unit: fc.constantFrom('0', '1', 'f', 'F', 'g', ':', '.', '%', ' ', '255', '256', '01', 'ffff', '12345'), maxLength: 24 });
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.ipV6(), hostile), (address) => {
      const nodeSays = isIP(address) !== 0 && !address.includes('%');
      // The full prefix length, so that no host bit is left to refuse.
      expect(cidrProblem(`${address}/${address.includes(':') ? 128 : 32}`) === undefined, address).to.equal(nodeSays);
    }), { numRuns: 5000 });
  });

  it('contains exactly what the BigInt oracle says, for generated blocks of both families', () => {
    fc.assert(fc.property(block, block, (a, b) => {
      expect(cidrContains(parsed(a), parsed(b)), `${a} contains ${b}`).to.equal(contains(parseBlock(a), parseBlock(b)));
    }), { numRuns: 2000 });
  });

  it('contains every block made by lengthening a block\'s prefix, and no block made by shortening it', () => {
    fc.assert(fc.property(block, fc.nat(), (outer, extra) => {
      const { family, value, prefix } = parseBlock(outer);
      const bits = family === 4 ? 32 : 128;
      const inner = blockText({ family, value, prefix: prefix + (extra % (bits - prefix + 1)) });
      expect(cidrContains(parsed(outer), parsed(inner))).to.equal(true);
      if (prefix > 0) {
        const shorter = blockText({ family, value, prefix: prefix - 1 });
        if (parseBlock(shorter).value === value) expect(cidrContains(parsed(outer), parsed(shorter))).to.equal(false);
      }
    }), { numRuns: 1000 });
  });

  it('never contains across IPv4 and IPv6, not even for mapped addresses', () => {
    expect(cidrContains(parsed('0.0.0.0/0'), parsed('::ffff:10.0.0.0/104'))).to.equal(false);
    expect(cidrContains(parsed('::/0'), parsed('10.0.0.0/8'))).to.equal(false);
  });

  it('refuses every generated address with host bits set after its prefix', () => {
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 0, max: 128 }), (address, p) => {
      const family = address.includes(':') ? 6 : 4;
      const prefix = family === 4 ? p % 33 : p;
      const hostBitsClear = blockOf(address, prefix).value === addressValue(address).value;
      expect(cidrProblem(`${address}/${prefix}`) === undefined, `${address}/${prefix}`).to.equal(hostBitsClear);
    }), { numRuns: 2000 });
  });
});
