/**
 * CIDR blocks as sshd's `source-address` reads them: `ADDRESS/PREFIX`, IPv4 or IPv6, with the
 * host bits zero (sshd refuses `10.0.0.1/8`, so flex-auth does too rather than grant a
 * certificate sshd would not honour). Written out rather than taken from node:net, which
 * src/core may not import; a property test checks the syntax against node:net's isIP.
 */
export interface Cidr {
  readonly family: 4 | 6;
  /** The network address, 4 or 16 bytes. */
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

const PREFIX = /^(?:0|[1-9]\d{0,2})$/;
/** Dotted decimal without leading zeros (`010.0.0.1` is refused, as node:net refuses it). */
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

const CIDR_HINT = 'must be a CIDR block such as 10.0.0.0/8 or 2001:db8::/32';

function ipv4Bytes(address: string): Uint8Array | undefined {
  return IPV4.test(address) ? Uint8Array.from(address.split('.').map(Number)) : undefined;
}

/** The 16-bit groups of `:`-separated text; an IPv4 tail (`::ffff:10.0.0.1`) only where `last`. */
function groupsOf(part: string, last: boolean): number[] | undefined {
  if (part === '') return [];
  const pieces = part.split(':');
  const groups: number[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    // Stryker disable next-line StringLiteral: includes('.') only skips the IPv4 parse of a piece that cannot be one
    const v4 = last && i === pieces.length - 1 && piece.includes('.') ? ipv4Bytes(piece) : undefined;
    if (v4) groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    else if (HEX_GROUP.test(piece)) groups.push(parseInt(piece, 16));
    else return undefined;
  }
  return groups;
}

/** 16 bytes of an IPv6 address, or undefined when it is not one (`::` at most once, stands for one group or more). */
function ipv6Bytes(address: string): Uint8Array | undefined {
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  let groups: number[] | undefined;
  if (halves.length === 1) {
    groups = groupsOf(address, true);
    if (groups?.length !== 8) return undefined;
  } else {
    const front = groupsOf(halves[0]!, false);
    const back = groupsOf(halves[1]!, true);
    if (!front || !back || front.length + back.length > 7) return undefined;
    groups = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  }
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
  // Stryker disable next-line ConditionalExpression: with no remaining bits the mask is 0, and the comparison answers true all the same
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
  const family = address.includes(':') ? 6 : 4;
  const bytes = family === 4 ? ipv4Bytes(address) : ipv6Bytes(address);
  if (bytes === undefined) return `${CIDR_HINT} (${JSON.stringify(address)} is not an IP address)`;
  const bits = family === 4 ? 32 : 128;
  const prefix = PREFIX.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix <= bits)) return `${CIDR_HINT} (the prefix length must be 0-${bits})`;
  if (!hostBitsZero(bytes, prefix)) return `${CIDR_HINT} (host bits are set after /${prefix}; sshd refuses such a block)`;
  return { family, bytes, prefix };
}

function hostBitsZero(bytes: Uint8Array, prefix: number): boolean {
  // Stryker disable next-line EqualityOperator: one bit past the end reads an absent byte as 0
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
