/** Grants and the values they are made of, for the tests of what writes them (the reply body, the decision log line). */
import fc from 'fast-check';
import { CERT_EXTENSIONS } from '../../src/core/certificate.js';
import { DECISION_ID_PATTERN } from '../../src/core/decision-id.js';
import { PRINCIPAL_PATTERN } from '../../src/core/patterns.js';
import { DENY_REASONS } from '../../src/core/types.js';
import type { CertificateGrant } from '../../src/core/types.js';
import { REQUEST_ID_PATTERN } from '../../src/http/request-id.js';
import { REVISION_PATTERN } from '../../src/registry/revision.js';

/*
 * Values plain by construction (src/core/canonical-json.ts), drawn from their forms, which
 * test/unit/core/plain-by-construction.test.ts holds to plain characters: the writers put them
 * between quotes unescaped. Everything else a line or a reply holds is drawn from any text.
 */
export const principalText = fc.stringMatching(PRINCIPAL_PATTERN, { maxLength: 40 });
export const decisionIdText = fc.stringMatching(DECISION_ID_PATTERN);
export const revisionText = fc.stringMatching(REVISION_PATTERN);
export const requestIdText = fc.oneof(fc.stringMatching(REQUEST_ID_PATTERN, { maxLength: 40 }), fc.uuid());
export const reasonText = fc.constantFrom(...DENY_REASONS, 'allowed', 'registry_unavailable', 'registry_stale');

/** A v1-shaped allow's whole grant: a user certificate with the default extension and no critical options. */
export function v1Grant(ttlSeconds: number, principals: readonly string[], keyId = 'decision:0123456789abcdef'): CertificateGrant {
  return { ttl_seconds: ttlSeconds, principals, cert_type: 'user', extensions: ['permit-pty'], critical_options: {}, key_id: keyId };
}

/** Any grant: its critical options' strings drawn from `text`, the rest from their forms; each critical option present or not. */
export function anyGrant(text: fc.Arbitrary<string>): fc.Arbitrary<CertificateGrant> {
  return fc.record({
    ttl_seconds: fc.nat(),
    principals: fc.array(principalText, { maxLength: 4 }),
    cert_type: fc.constantFrom('user' as const, 'host' as const),
    extensions: fc.subarray([...CERT_EXTENSIONS]),
    critical_options: fc.record({ force_command: text, source_address: fc.array(text, { minLength: 1, maxLength: 3 }) }, { requiredKeys: [] }),
    key_id: decisionIdText,
  });
}
