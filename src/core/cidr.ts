import { isIP } from 'node:net';

/**
 * CIDR blocks as sshd's `source-address` reads them: `ADDRESS/PREFIX`, IPv4 or IPv6, with the
 * host bits zero (sshd refuses `10.0.0.1/8`, so flex-auth does too rather than grant a
 * certificate sshd would not honour). Syntax is node:net's; only the bits are counted here.
 */
export interface Cidr {
  readonly family: 4 | 6;
  /** The network address, 4 or 16 bytes. */
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

const PREFIX = /^(?:0|[1-9]\d{0,2})$/;

export const CIDR_HINT = 'must be a CIDR block such as 10.0.0.0/8 or 2001:db8::/32';

function ipv4Bytes(address: string): Uint8Array {
  return Uint8Array.from(address.split('.').map(Number));
}

/** 16 bytes of an address node:net has already accepted as IPv6 (so `::` appears at most once). */
function ipv6Bytes(address: string): Uint8Array {
  const groupsOf = (part: string): number[] => {
    if (part === '') return [];
    const groups: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = ipv4Bytes(piece);
        groups.push((a << 8) | b, (c << 8) | d);
      } else {
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const [head = '', tail] = address.split('::');
  const front = groupsOf(head);
  const back = tail === undefined ? [] : groupsOf(tail);
  const groups = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/** Whether the first `prefix` bits of `a` and `b` agree. */
function samePrefix(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  const whole = prefix >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[whole]! ^ b[whole]!) & mask) === 0;
}

/** The block `text` names, or why it names none. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  if (slash === -1) return `${CIDR_HINT} (a prefix length is required)`;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  // node:net accepts an IPv6 zone (`fe80::1%eth0`), which has no place in a certificate.
  const family = address.includes('%') ? 0 : isIP(address);
  if (family !== 4 && family !== 6) return `${CIDR_HINT} (${JSON.stringify(address)} is not an IP address)`;
  const bits = family === 4 ? 32 : 128;
  const prefix = PREFIX.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix <= bits)) return `${CIDR_HINT} (the prefix length must be 0-${bits})`;
  const bytes = family === 4 ? ipv4Bytes(address) : ipv6Bytes(address);
  if (!hostBitsZero(bytes, prefix)) {
    return `${CIDR_HINT} (host bits are set after /${prefix}; sshd refuses such a block)`;
  }
  return { family, bytes, prefix };
}

function hostBitsZero(bytes: Uint8Array, prefix: number): boolean {
  for (let bit = prefix; bit < bytes.length * 8; bit++) {
    if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) return false;
  }
  return true;
}

/** Why `text` is not a CIDR block, or undefined when it is one. */
export function cidrProblem(text: string): string | undefined {
  const parsed = parseCidr(text);
  return typeof parsed === 'string' ? parsed : undefined;
}

/** Whether every address of `inner` is in `outer` (never across IPv4 and IPv6). */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.prefix >= outer.prefix && samePrefix(outer.bytes, inner.bytes, outer.prefix);
}
