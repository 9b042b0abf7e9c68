/** Grants for the tests of what writes them (the reply body, the decision log line). */
import fc from 'fast-check';
import type { CertificateGrant } from '../../src/core/types.js';

/** A v1-shaped allow's whole grant: a user certificate with the default extension and no critical options. */
export function v1Grant(ttlSeconds: number, principals: readonly string[], keyId = 'decision:0123456789abcdef'): CertificateGrant {
  return { ttl_seconds: ttlSeconds, principals, cert_type: 'user', extensions: ['permit-pty'], critical_options: {}, key_id: keyId };
}

/** Any grant whose strings are drawn from `text`, each critical option present or not. */
export function anyGrant(text: fc.Arbitrary<string>): fc.Arbitrary<CertificateGrant> {
  return fc.record({
    ttl_seconds: fc.nat(),
    principals: fc.array(text, { maxLength: 4 }),
    cert_type: fc.constantFrom('user' as const, 'host' as const),
    extensions: fc.array(text, { maxLength: 3 }),
    critical_options: fc.record({ force_command: text, source_address: fc.array(text, { minLength: 1, maxLength: 3 }) }, { requiredKeys: [] }),
    key_id: text,
  });
}
