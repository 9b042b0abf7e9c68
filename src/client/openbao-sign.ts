/**
 * The grant of an allowed decision as the body of OpenBao's `POST /v1/ssh/sign/:role`
 * (docs/ops-warden-policy-gate-handoff.md). ops-warden signs exactly the grant: every field
 * OpenBao would otherwise fill from the role's defaults is sent explicitly, and a grant that
 * cannot be expressed faithfully is refused rather than sent.
 */

/** The certificate fields of an allowed grant (contract section 14). */
export interface CertificateGrant {
  readonly ttl_seconds: number;
  readonly principals: readonly string[];
  readonly cert_type: 'user' | 'host';
  readonly extensions: readonly string[];
  readonly critical_options?: {
    readonly force_command?: string;
    readonly source_address?: readonly string[];
  };
  readonly key_id: string;
}

/** The JSON body of `POST /v1/ssh/sign/:role`, the fields OpenBao's SSH engine reads. */
export interface OpenBaoSshSignRequest {
  readonly public_key: string;
  /** Comma-joined: OpenBao (like sshd) splits principals at commas. */
  readonly valid_principals: string;
  /** A Go duration in whole seconds (`"28800s"`), which OpenBao's ttl field accepts. */
  readonly ttl: string;
  readonly cert_type: 'user' | 'host';
  /** Extension name -> "" (the standard extensions carry no data). */
  readonly extensions: Readonly<Record<string, string>>;
  /** OpenSSH names: `force-command` (the command) and `source-address` (comma-joined CIDRs). */
  readonly critical_options: Readonly<Record<string, string>>;
  readonly key_id: string;
}

// The contract's principal rule: anything else could be split or matched by sshd.
const PRINCIPAL = /^[A-Za-z0-9._@-]{1,256}$/;
// A comma would split an entry in a comma-joined field; whitespace never belongs in a name or CIDR.
const LIST_ITEM = /^[^,\s]+$/;

function refuse(message: string): never {
  throw new TypeError(`cannot sign this grant: ${message}`);
}

/**
 * The sign request for `grant` and the caller's `publicKey` (an OpenSSH public key line).
 * Throws a TypeError, and so signs nothing, for a grant that is not a well-formed allowed grant:
 * no principals, a principal or list item that would split, a ttl that is not a positive whole
 * number of seconds, an empty key id, or an empty `source_address` (omitting it would widen the
 * certificate to every address).
 */
export function openBaoSignRequest(grant: CertificateGrant, publicKey: string): OpenBaoSshSignRequest {
  if (publicKey.trim() === '') refuse('the public key is empty');
  if (grant.principals.length === 0) refuse('it has no principals');
  for (const principal of grant.principals) {
    if (!PRINCIPAL.test(principal)) refuse(`principal ${JSON.stringify(principal)} is not 1-256 characters of [A-Za-z0-9._@-]`);
  }
  if (!Number.isSafeInteger(grant.ttl_seconds) || grant.ttl_seconds <= 0) {
    refuse(`ttl_seconds ${String(grant.ttl_seconds)} is not a positive whole number`);
  }
  if (grant.cert_type !== 'user' && grant.cert_type !== 'host') refuse(`cert_type ${JSON.stringify(grant.cert_type)} is not user or host`);
  if (grant.key_id === '') refuse('key_id is empty');
  for (const extension of grant.extensions) {
    if (!LIST_ITEM.test(extension)) refuse(`extension ${JSON.stringify(extension)} is not a name`);
  }

  const criticalOptions: Record<string, string> = {};
  const { force_command: forceCommand, source_address: sourceAddress } = grant.critical_options ?? {};
  if (forceCommand !== undefined) {
    if (forceCommand.trim() === '') refuse('force_command is empty');
    criticalOptions['force-command'] = forceCommand;
  }
  if (sourceAddress !== undefined) {
    if (sourceAddress.length === 0) refuse('source_address is an empty list');
    for (const cidr of sourceAddress) {
      if (!LIST_ITEM.test(cidr)) refuse(`source_address entry ${JSON.stringify(cidr)} is not a CIDR`);
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
