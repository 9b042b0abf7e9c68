import { cidrProblem, parseCidr } from './cidr.js';
import { isPlainObject, onlyKeys } from './json-shape.js';
import type { Cidr } from './cidr.js';
import type { Writable } from './writable.js';

/**
 * The parts of an SSH certificate beyond principals and validity (contract section 14), shared
 * by the registry (what an actor may have) and requests (what a caller asks for).
 */

export const CERT_TYPES = ['user', 'host'] as const;
export type CertType = (typeof CERT_TYPES)[number];

/**
 * The extensions OpenSSH defines (PROTOCOL.certkeys). Vendor extensions (`NAME@DOMAIN`) are
 * refused: flex-auth cannot judge what one permits, and a grant must be fully understood.
 */
export const CERT_EXTENSIONS = [
  'no-touch-required',
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
] as const;
export const EXTENSION_HINT = `must be one of ${CERT_EXTENSIONS.join(', ')}`;

export const CERTIFICATE_LIMITS = {
  forceCommandLength: 1024,
  sourceAddresses: 64,
  sourceAddressLength: 64,
} as const;

export interface CriticalOptions {
  readonly force_command?: string;
  readonly source_address?: readonly string[];
}

/**
 * Critical options holding only the options given. Members added one by one, not spread: see
 * `Writable` in writable.ts (built per actor at compile and per request naming certificate fields).
 */
export function criticalOptionsOf(forceCommand: string | undefined, sourceAddress: readonly string[] | undefined): CriticalOptions {
  const options: Writable<CriticalOptions> = {};
  if (forceCommand !== undefined) options.force_command = forceCommand;
  if (sourceAddress !== undefined) options.source_address = sourceAddress;
  return options;
}

/** What a certificate may carry for one actor, compiled from its `certificate` section (or the defaults). */
export interface CertificateProfile {
  readonly types: readonly CertType[];
  readonly allowedExtensions: readonly string[];
  /** Sorted: what a user certificate carries when the request names no extensions. */
  readonly defaultExtensions: readonly string[];
  /** The actor's critical options, `source_address` sorted; `{}` when none. */
  readonly criticalOptions: CriticalOptions;
  /** `criticalOptions.source_address` parsed, for containment checks. */
  readonly sourceNetworks: readonly Cidr[];
  /** The certificate a request that names none of this gets: shared, so such a check allocates nothing. */
  readonly unrequested: RequestedCertificate;
}

/** The certificate a request asks for, after the actor's defaults: what the grant carries on allow. */
export interface RequestedCertificate {
  readonly cert_type: CertType;
  readonly extensions: readonly string[];
  readonly critical_options: CriticalOptions;
}

/** Control, format (invisible, bidirectional) and line-separator characters: none belong in a command. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

export function isExtension(value: unknown): boolean {
  return (CERT_EXTENSIONS as readonly unknown[]).includes(value);
}

export function isCertType(value: unknown): value is CertType {
  return value === 'user' || value === 'host';
}

/** Why `value` cannot be a forced command (the length is the schema's), or undefined. */
export function forceCommandProblem(value: string): string | undefined {
  return UNPRINTABLE.test(value) ? 'must not contain control or invisible characters' : undefined;
}

/** A forced command the schema accepts: 1 to the limit's characters, none of them control or invisible. */
export function isForceCommand(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= CERTIFICATE_LIMITS.forceCommandLength && !UNPRINTABLE.test(value);
}

/** A CIDR block sshd accepts. No valid block is longer than the schema's 64 characters (the longest IPv6 spelling is 49), so no length check. */
export function isSourceAddress(value: unknown): value is string {
  return typeof value === 'string' && cidrProblem(value) === undefined;
}

/** Critical options as `criticalOptionsSchema` has them, plainly: the fast paths of registries and requests. */
export function isPlainCriticalOptions(options: unknown): boolean {
  if (!isPlainObject(options) || !onlyKeys(options, ['force_command', 'source_address'])) return false;
  const { force_command: forceCommand, source_address: sources } = options;
  if (forceCommand !== undefined && !isForceCommand(forceCommand)) return false;
  if (sources === undefined) return true;
  if (!Array.isArray(sources) || sources.length === 0 || sources.length > CERTIFICATE_LIMITS.sourceAddresses) return false;
  // for...of, not every(): every() skips the holes of a sparse array, which the schema refuses.
  for (const source of sources) if (!isSourceAddress(source)) return false;
  return new Set(sources).size === sources.length;
}

/** A list of distinct extension names, holes and all refused (see `isPlainCriticalOptions`). */
export function isExtensionList(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (const name of value) if (!isExtension(name)) return false;
  return new Set(value).size === value.length;
}

/** Sorted and de-duplicated; a list that already is (one item, usually) is kept as it is. */
export function sortedUnique(values: readonly string[]): readonly string[] {
  // Stryker disable next-line EqualityOperator,UpdateOperator: the fast path for a list already sorted and unique; a mutant only sorts a list that needed none
  for (let i = 1; i < values.length; i++) {
    // Stryker disable next-line ConditionalExpression,ArithmeticOperator: same
    if (!(values[i - 1]! < values[i]!)) return [...new Set(values)].sort();
  }
  return values;
}

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  // Stryker disable next-line EqualityOperator: one step past the end compares undefined with undefined
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The registry's `certificate` section, validated. Absent parts take the contract's defaults. */
export interface CertificateSection {
  readonly types?: readonly CertType[];
  readonly extensions?: { readonly allowed: readonly string[]; readonly default?: readonly string[] };
  readonly critical_options?: CriticalOptions;
}

const NO_EXTENSIONS: readonly string[] = Object.freeze([]);

/** Compiles a validated section into a frozen profile; absent parts take the contract's defaults. */
function compileProfile(section: CertificateSection): CertificateProfile {
  const types = Object.freeze([...(section.types ?? ['user'])]);
  const allowedExtensions = Object.freeze(section.extensions ? [...section.extensions.allowed].sort() : ['permit-pty']);
  const defaultExtensions = Object.freeze(section.extensions ? [...(section.extensions.default ?? [])].sort() : ['permit-pty']);
  const options = section.critical_options ?? {};
  const sourceAddress = options.source_address === undefined ? undefined : Object.freeze([...options.source_address].sort());
  const criticalOptions = Object.freeze(criticalOptionsOf(options.force_command, sourceAddress));
  // Stryker disable next-line ArrayDeclaration: sourceNetworks is read only when the actor has source_address
  const sourceNetworks = Object.freeze((sourceAddress ?? []).map((text) => parseCidr(text) as Cidr));
  const unrequested = Object.freeze({ cert_type: 'user' as const, extensions: defaultExtensions, critical_options: criticalOptions });
  return Object.freeze({ types, allowedExtensions, defaultExtensions, criticalOptions, sourceNetworks, unrequested });
}

/** The profile of every actor without a `certificate` section: user certificates, `permit-pty`, no critical options. */
export const DEFAULT_CERTIFICATE_PROFILE: CertificateProfile = compileProfile({});

/** An actor's profile: without a section, the one shared default (so most actors cost nothing). */
export function certificateProfile(section: CertificateSection | undefined): CertificateProfile {
  return section === undefined ? DEFAULT_CERTIFICATE_PROFILE : compileProfile(section);
}

/** The extensions a certificate of `type` carries when the request names none: host certificates have none. */
export function defaultExtensionsFor(profile: CertificateProfile, type: CertType): readonly string[] {
  return type === 'user' ? profile.defaultExtensions : NO_EXTENSIONS;
}
