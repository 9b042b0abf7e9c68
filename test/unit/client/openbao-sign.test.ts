import { expect } from 'chai';
import fc from 'fast-check';
import { openBaoSignRequest } from '../../../src/client/openbao-sign.js';
import type { CertificateGrant } from '../../../src/core/types.js';

const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9wZW5iYW8tc2lnbi10ZXN0LWtleS1ub3QtYS1rZXk user';

const GRANT: CertificateGrant = {
  ttl_seconds: 28800,
  principals: ['atm-backup-daily', 'backup'],
  cert_type: 'user',
  extensions: ['permit-pty', 'permit-port-forwarding'],
  critical_options: { force_command: '/usr/local/bin/backup --daily', source_address: ['10.0.0.0/8', '192.168.1.7/32'] },
  key_id: 'decision:0123456789abcdef',
};

/** Parses OpenBao's ttl the way its TypeDurationSecond field does for our `<n>s` form. */
function ttlSeconds(ttl: string): number {
  const match = /^(\d+)s$/.exec(ttl);
  expect(match, `ttl ${ttl} is a Go duration in seconds`).to.not.equal(null);
  return Number(match![1]);
}

const principal = fc.stringMatching(/^[A-Za-z0-9._@-]{1,40}$/);
// Host bits zero, as flex-auth (and sshd) require of a source address.
const cidr = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 })).map(([address, bits]) => {
  const network = bits === 0 ? 0 : (address >>> (32 - bits)) << (32 - bits) >>> 0;
  return `${[24, 16, 8, 0].map((shift) => (network >>> shift) & 255).join('.')}/${bits}`;
});
const grantArbitrary: fc.Arbitrary<CertificateGrant> = fc.record({
  ttl_seconds: fc.integer({ min: 1, max: 400 * 24 * 3600 }),
  principals: fc.uniqueArray(principal, { minLength: 1, maxLength: 5 }),
  cert_type: fc.constantFrom('user' as const, 'host' as const),
  extensions: fc.uniqueArray(
    fc.constantFrom('permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty', 'permit-user-rc', 'no-touch-required'),
  ),
  critical_options: fc.record(
    { force_command: fc.string({ minLength: 1 }).filter((s) => s.trim() !== ''), source_address: fc.array(cidr, { minLength: 1, maxLength: 4 }) },
    { requiredKeys: [] },
  ),
  key_id: fc.stringMatching(/^decision:[0-9a-f]{16}$/),
});

describe('openBaoSignRequest', () => {
  it('maps every field of the grant to the ssh/sign body, with OpenSSH names for the critical options', () => {
    expect(openBaoSignRequest(GRANT, PUBLIC_KEY)).to.deep.equal({
      public_key: PUBLIC_KEY,
      valid_principals: 'atm-backup-daily,backup',
      ttl: '28800s',
      cert_type: 'user',
      extensions: { 'permit-pty': '', 'permit-port-forwarding': '' },
      critical_options: { 'force-command': '/usr/local/bin/backup --daily', 'source-address': '10.0.0.0/8,192.168.1.7/32' },
      key_id: 'decision:0123456789abcdef',
    });
  });

  it('sends empty maps, never leaves a field out, when the grant has no extensions or critical options', () => {
    const body = openBaoSignRequest({ ...GRANT, extensions: [], critical_options: {} }, PUBLIC_KEY);
    expect(body.extensions).to.deep.equal({});
    expect(body.critical_options).to.deep.equal({});
  });

  it('holds exactly the grant for any well-formed grant: nothing added, nothing lost', () => {
    fc.assert(
      fc.property(grantArbitrary, (grant) => {
        const body = openBaoSignRequest(grant, PUBLIC_KEY);
        expect(body.valid_principals.split(',')).to.deep.equal(grant.principals);
        expect(ttlSeconds(body.ttl)).to.equal(grant.ttl_seconds);
        expect(body.cert_type).to.equal(grant.cert_type);
        expect(body.key_id).to.equal(grant.key_id);
        expect(Object.keys(body.extensions).sort()).to.deep.equal([...grant.extensions].sort());
        expect(Object.values(body.extensions).every((value) => value === '')).to.equal(true);
        const options = grant.critical_options;
        const expected: Record<string, string> = {};
        if (options.force_command !== undefined) expected['force-command'] = options.force_command;
        if (options.source_address !== undefined) expected['source-address'] = options.source_address.join(',');
        expect(body.critical_options).to.deep.equal(expected);
        expect(body.public_key).to.equal(PUBLIC_KEY);
      }),
    );
  });

  const refused: [string, CertificateGrant][] = [
    ['no principals', { ...GRANT, principals: [] }],
    ['a principal with a comma', { ...GRANT, principals: ['deploy,root'] }],
    ['a wildcard principal', { ...GRANT, principals: ['*'] }],
    ['a principal with whitespace', { ...GRANT, principals: ['deploy root'] }],
    ['an empty principal', { ...GRANT, principals: [''] }],
    ['a principal with a control character', { ...GRANT, principals: ['deploy\u0000'] }],
    ['a non-ASCII principal', { ...GRANT, principals: ['dеploy'] }],
    ['an over-long principal', { ...GRANT, principals: ['a'.repeat(257)] }],
    ['a zero ttl', { ...GRANT, ttl_seconds: 0 }],
    ['a negative ttl', { ...GRANT, ttl_seconds: -60 }],
    ['a fractional ttl', { ...GRANT, ttl_seconds: 1.5 }],
    ['a ttl that is not a number', { ...GRANT, ttl_seconds: Number.NaN }],
    ['an unknown cert type', { ...GRANT, cert_type: 'both' as 'user' }],
    ['an empty key id', { ...GRANT, key_id: '' }],
    ['a key id that is not a decision id', { ...GRANT, key_id: 'root\nfake' }],
    ['a key id with a decision id inside it', { ...GRANT, key_id: 'x decision:0123456789abcdef' }],
    ['a critical option it does not know (it would be dropped)', { ...GRANT, critical_options: { 'verify-required': '' } as CertificateGrant['critical_options'] }],
    ['a known critical option beside one it does not know', { ...GRANT, critical_options: { force_command: '/bin/true', 'no-touch-required': '' } as CertificateGrant['critical_options'] }],
    ['an extension with a comma', { ...GRANT, extensions: ['permit-pty,permit-agent-forwarding'] }],
    ['an extension OpenSSH does not define', { ...GRANT, extensions: ['permit-everything'] }],
    ['an empty force command', { ...GRANT, critical_options: { force_command: ' ' } }],
    ['an empty source address list', { ...GRANT, critical_options: { source_address: [] } }],
    ['a source address with a comma', { ...GRANT, critical_options: { source_address: ['10.0.0.0/8,0.0.0.0/0'] } }],
    ['a source address that is not a CIDR', { ...GRANT, critical_options: { source_address: ['backup.example.internal'] } }],
    ['a force command with a control character', { ...GRANT, critical_options: { force_command: 'backup\nrm -rf /' } }],
  ];
  for (const [what, grant] of refused) {
    it(`refuses, and builds nothing for, a grant with ${what}`, () => {
      expect(() => openBaoSignRequest(grant, PUBLIC_KEY)).to.throw(TypeError, /^cannot sign this grant: /);
    });
  }

  it('refuses an empty public key', () => {
    expect(() => openBaoSignRequest(GRANT, '  ')).to.throw(TypeError, /public key is empty/);
  });
});
