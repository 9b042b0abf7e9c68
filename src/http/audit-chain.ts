import { createHmac, hash, randomBytes } from 'node:crypto';

/**
 * The decision log as evidence (contract section 15; the construction is in docs/security.md):
 * each decision line carries `chain`, the SHA-256 of the previous line's `chain` and of this
 * line's content, and a keyed `checkpoint` line seals the chain up to a `seq`. Shared by the
 * writer (`DecisionLog`) and the verifier (`flex-auth audit verify`), so both agree by
 * construction on what a line's content is.
 */

/** The `chain` a log's first line (seq 1) follows. */
export const CHAIN_START = '0'.repeat(64);

/** The member the writer puts just before `msg`; the content is the line without it. */
const CHAIN_MEMBER = ',"chain":"';
/** `,"chain":"` + 64 hex digits + `"`. */
const CHAIN_MEMBER_LENGTH = CHAIN_MEMBER.length + 64 + 1;
const HEX64 = /^[0-9a-f]{64}$/;

/** Labels the MAC's message, so a MAC made for anything else never passes as a checkpoint's. */
const CHECKPOINT_LABEL = 'flex-auth.checkpoint/v1';

/** Random per process start: tells apart the logs of pods (and restarts) merged by a collector. */
export function newLogId(): string {
  return randomBytes(16).toString('hex');
}

/** The `chain` of a line: hex SHA-256 over the previous line's `chain` (64 hex) followed by this line's content. */
export function chainOf(previous: string, content: string): string {
  return hash('sha256', previous + content, 'hex');
}

/**
 * A line's `chain` and the line as written (no newline), for the content `content + close`
 * (`close`: its last member and brace) after a line whose chain is `previous`. The text is
 * joined once, for the hash, and the line is cut from that one copy: a decision line is built
 * from dozens of pieces, and walking them again to write it cost more than the cut.
 */
export function chainedLine(previous: string, content: string, close: string): { chain: string; line: string } {
  const covered = previous + content + close;
  const chain = hash('sha256', covered, 'hex');
  return { chain, line: `${covered.slice(previous.length, previous.length + content.length)}${chainMember(chain)}${close}` };
}

/** The chain member to insert before `msg`. */
export function chainMember(chain: string): string {
  return `${CHAIN_MEMBER}${chain}"`;
}

export interface ChainedLine {
  /** The line as written minus its chain member: what `chain` covers. */
  readonly content: string;
  /** The `chain` the line claims. */
  readonly chain: string;
}

/**
 * Splits a line (JSON text, no newline) into its content and claimed chain, or undefined when
 * it has no chain member. The member is found by its text: a quote inside a JSON string is
 * always escaped, so `,"chain":"` outside a member name cannot occur; the JSON parse of the
 * same line by the caller confirms it.
 */
export function splitChained(line: string): ChainedLine | undefined {
  const at = line.lastIndexOf(CHAIN_MEMBER);
  if (at < 0 || line.charCodeAt(at + CHAIN_MEMBER_LENGTH - 1) !== 0x22 /* " */) return undefined;
  const chain = line.slice(at + CHAIN_MEMBER.length, at + CHAIN_MEMBER_LENGTH - 1);
  if (!HEX64.test(chain)) return undefined;
  return { content: line.slice(0, at) + line.slice(at + CHAIN_MEMBER_LENGTH), chain };
}

/** The checkpoint's MAC: hex HMAC-SHA256 with the audit key over `flex-auth.checkpoint/v1\n<log_id>\n<seq>\n<chain>`. */
export function checkpointMac(key: Buffer, logId: string, seq: number, chain: string): string {
  return createHmac('sha256', key).update(`${CHECKPOINT_LABEL}\n${logId}\n${seq}\n${chain}`).digest('hex');
}

/** Shorter keys are refused, as short bearer tokens are: a guessable key seals nothing. */
export const MIN_AUDIT_KEY_BYTES = 16;

/**
 * The audit key in a key file's text: the text without surrounding whitespace (so `openssl rand
 * -hex 32 > key` works), as UTF-8 bytes. Throws a message that never contains the key.
 */
export function auditKeyFrom(text: string): Buffer {
  const key = Buffer.from(text.trim(), 'utf8');
  if (key.length === 0) throw new Error('is empty');
  if (key.length < MIN_AUDIT_KEY_BYTES) throw new Error(`holds a key shorter than ${MIN_AUDIT_KEY_BYTES} bytes`);
  return key;
}
