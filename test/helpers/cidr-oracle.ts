/**
 * CIDR arithmetic on BigInt addresses, written for tests independently of src/core/cidr.ts:
 * the oracle the CIDR and policy property tests compare the service with.
 */

export interface Block {
  readonly family: 4 | 6;
  /** The network address (host bits cleared). */
  readonly value: bigint;
  readonly prefix: number;
}

/** An address (dotted IPv4, or IPv6 with `::` and an embedded IPv4 tail) as a number. */
export function addressValue(address: string): { family: 4 | 6; value: bigint } {
  if (!address.includes(':')) {
    return { family: 4, value: address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n) };
  }
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = addressValue(v4[1]!).value;
    text = text.slice(0, -v4[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const front = head ? head.split(':') : [];
  const back = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

function bitsOf(family: 4 | 6): bigint {
  return family === 4 ? 32n : 128n;
}

/** The block `address/prefix`, its host bits cleared. */
export function blockOf(address: string, prefix: number): Block {
  const { family, value } = addressValue(address);
  const hostMask = (1n << (bitsOf(family) - BigInt(prefix))) - 1n;
  return { family, value: value & ~hostMask, prefix };
}

/** `ADDRESS/PREFIX` text as a block. */
export function parseBlock(text: string): Block {
  const [address, prefix] = text.split('/');
  return blockOf(address!, Number(prefix));
}

/** Whether every address of `inner` is in `outer`. */
export function contains(outer: Block, inner: Block): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  const shift = bitsOf(outer.family) - BigInt(outer.prefix);
  return outer.value >> shift === inner.value >> shift;
}

/** A block written back as text: dotted IPv4, or eight IPv6 groups. */
export function blockText(block: Block): string {
  const address = block.family === 4
    ? [24n, 16n, 8n, 0n].map((shift) => String((block.value >> shift) & 255n)).join('.')
    : Array.from({ length: 8 }, (_, i) => ((block.value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
  return `${address}/${block.prefix}`;
}
