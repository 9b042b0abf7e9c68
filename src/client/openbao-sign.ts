/**
 * The grant of an allowed decision as the body of OpenBao's `POST /v1/ssh/sign/:role`
 * (docs/ops-warden-policy-gate-handoff.md). ops-warden signs exactly the grant: every field
 * OpenBao would otherwise fill from the role's defaults is sent explicitly, and a grant that
 * cannot be expressed faithfully is refused rather than sent.
 */
import { isCertType, isExtension, isForceCommand, isSourceAddress } from '../core/certificate.js';
import { DECISION_ID_PATTERN } from '../core/decision-id.js';
import { PRINCIPAL_HINT, PRINCIPAL_PATTERN } from '../core/patterns.js';
import type { CertType } from '../core/certificate.js';
import type { CertificateGrant } from '../core/types.js';

/** The JSON body of `POST /v1/ssh/sign/:role`, the fields OpenBao's SSH engine reads. */
export interface OpenBaoSshSignRequest {
  readonly public_key: string;
  /** Comma-joined: OpenBao (like sshd) splits principals at commas. */
  readonly valid_principals: string;
  /** A Go duration in whole seconds (`"28800s"`), which OpenBao's ttl field accepts. */
  readonly ttl: string;
  readonly cert_type: CertType;
  /** Extension name -> "" (the standard extensions carry no data). */
  readonly extensions: Readonly<Record<string, string>>;
  /** OpenSSH names: `force-command` (the command) and `source-address` (comma-joined CIDRs). */
  readonly critical_options: Readonly<Record<string, string>>;
  readonly key_id: string;
}

function refuse(message: string): never {
  throw new TypeError(`cannot sign this grant: ${message}`);
}

/**
 * The sign request for `grant` and the caller's `publicKey` (an OpenSSH public key line).
 * Throws a TypeError, and so signs nothing, for a grant that is not a well-formed allowed grant:
 * no principals, a principal outside the contract's rule (one with a comma would split), a ttl
 * that is not a positive whole number of seconds, an unknown cert type or extension, a critical
 * option flex-auth would not grant (one this function does not know would be dropped, and with it
 * a restriction), a key id that is not a decision id, or an empty `source_address` (omitting it
 * would widen the certificate to every address).
 */
export function openBaoSignRequest(grant: CertificateGrant, publicKey: string): OpenBaoSshSignRequest {
  if (publicKey.trim() === '') refuse('the public key is empty');
  if (grant.principals.length === 0) refuse('it has no principals');
  for (const principal of grant.principals) {
    // A principal outside the contract's rule could be split at a comma, by OpenBao and by sshd.
    if (!PRINCIPAL_PATTERN.test(principal)) refuse(`principal ${JSON.stringify(principal)} ${PRINCIPAL_HINT}`);
  }
  if (!Number.isSafeInteger(grant.ttl_seconds) || grant.ttl_seconds <= 0) {
    refuse(`ttl_seconds ${String(grant.ttl_seconds)} is not a positive whole number`);
  }
  if (!isCertType(grant.cert_type)) refuse(`cert_type ${JSON.stringify(grant.cert_type)} is not user or host`);
  if (!DECISION_ID_PATTERN.test(grant.key_id)) refuse(`key_id ${JSON.stringify(grant.key_id)} is not a decision id (decision: and 16 hex digits)`);
  for (const extension of grant.extensions) {
    if (!isExtension(extension)) refuse(`extension ${JSON.stringify(extension)} is not one OpenSSH defines`);
  }

  const criticalOptions: Record<string, string> = {};
  const unknown = Object.keys(grant.critical_options).filter((name) => name !== 'force_command' && name !== 'source_address');
  if (unknown.length > 0) refuse(`critical option ${unknown.map((name) => JSON.stringify(name)).join(', ')} is not one flex-auth grants`);
  const { force_command: forceCommand, source_address: sourceAddress } = grant.critical_options;
  if (forceCommand !== undefined) {
    if (!isForceCommand(forceCommand) || forceCommand.trim() === '') refuse('force_command is empty, too long or holds control characters');
    criticalOptions['force-command'] = forceCommand;
  }
  if (sourceAddress !== undefined) {
    if (sourceAddress.length === 0) refuse('source_address is an empty list');
    for (const cidr of sourceAddress) {
      if (!isSourceAddress(cidr)) refuse(`source_address entry ${JSON.stringify(cidr)} is not a CIDR`);
    }
    criticalOptions['source-address'] = sourceAddress.join(',');
  }

  return {
    public_key: publicKey,
    valid_principals: grant.principals.join(','),
    ttl: `${grant.ttl_seconds}s`,
    cert_type: grant.cert_type,
    extensions: Object.fromEntries(grant.extensions.map((name) => [name, ''])),
    critical_options: criticalOptions,
    key_id: grant.key_id,
  };
}
