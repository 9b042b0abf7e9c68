/**
 * The grant end to end, with its real consumer: OpenSSH (Debian's openssh-server and
 * openssh-client). A real `flex-auth serve` on 127.0.0.1 decides, asked through FlexAuthClient as
 * ops-warden asks it; the allowed grant becomes the body of OpenBao's `ssh/sign/:role`
 * (openBaoSignRequest); ssh-keygen, as the CA, signs a user key exactly as OpenBao would sign
 * that body; `ssh-keygen -L` must show the grant; and a real
 * sshd of our own (127.0.0.1 and 127.0.0.2) must let the certificate in only as the grant says.
 *
 * Every key is generated at test time in a temp dir. Expected values come from the grant, the
 * registry and the request the test wrote, never from hard-coded output.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { FlexAuthClient } from '../../src/client/flex-auth-client.js';
import type { CheckInput } from '../../src/client/flex-auth-client.js';
import { openBaoSignRequest } from '../../src/client/openbao-sign.js';
import type { CertificateGrant } from '../../src/core/types.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { startServer } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { postCheck } from '../helpers/http.js';
import { generateKey, listCertificate, requireOpenSsh, signLikeOpenBao, ssh, startSshd } from '../helpers/openssh.js';
import type { Sshd } from '../helpers/openssh.js';

const FORCED_OUTPUT = 'forced-command-ran';
const BACKUP = {
  name: 'atm-backup-nightly',
  type: 'automation',
  principals: ['backup-nightly'],
  ttl: { default: '1h', min: '5m', max: '8h' },
  allowed_subjects: ['iam:atm-backup-nightly'],
  certificate: {
    types: ['user'],
    extensions: { allowed: ['permit-pty', 'permit-port-forwarding'], default: ['permit-pty'] },
    critical_options: { force_command: `echo ${FORCED_OUTPUT}`, source_address: ['127.0.0.1/32'] },
  },
};
// Another actor: its principals are not the backup's, and it keeps the v1 certificate defaults.
const OTHER = {
  name: 'agt-inventory',
  type: 'agent',
  principals: ['agt-inventory'],
  ttl: { default: '1h', max: '8h' },
  allowed_subjects: ['agt-inventory'],
};
const REGISTRY = { schema: 'flex-auth.registry/v1', actors: [BACKUP, OTHER] };
// The local users sshd knows: root may be reached by the backup's principals, nobody by the other actor's.
const PRINCIPALS_BY_USER = { root: BACKUP.principals, nobody: OTHER.principals };

const BACKUP_REQUEST: CheckInput = {
  subject: { id: 'iam:atm-backup-nightly' },
  action: 'sign',
  resource: { type: 'ssh_actor', id: BACKUP.name },
  context: { ttl: '2h', extensions: ['permit-pty', 'permit-port-forwarding'] },
};

const DENIED = /Permission denied \(publickey\)/;
const PTY_REFUSED = /PTY allocation request failed/;

describe('the grant, signed by an OpenSSH CA and used against a real sshd', function () {
  this.timeout(60_000);
  let dir: string | undefined;
  let server: ServerProcess | undefined;
  let sshd: Sshd | undefined;
  let caKey: string;
  let userKey: string;
  let grant: CertificateGrant;
  let certificate: string;
  let signedBetween: [number, number];

  /** The grant as ops-warden gets it: through FlexAuthClient, which accepts only a whole, well-formed grant. */
  async function allowedGrant(request: CheckInput): Promise<CertificateGrant> {
    const outcome = await new FlexAuthClient({ baseUrl: server!.url, timeoutMs: 5000 }).check(request);
    if (!outcome.allow) throw new Error(`expected an allow: ${outcome.reason}: ${outcome.message}`);
    return outcome.grant;
  }

  async function sign(forGrant: CertificateGrant, name: string, options: { endedSecondsAgo?: number } = {}): Promise<string> {
    const body = openBaoSignRequest(forGrant, await readFile(`${userKey}.pub`, 'utf8'));
    return signLikeOpenBao(body, caKey, dir!, name, options);
  }

  const login = (user: string, cert: string, options: { bind?: string; terminal?: boolean } = {}) =>
    ssh({ sshd: sshd!, user, key: userKey, certificate: cert, command: 'echo client-command-ran', ...options });

  before(async () => {
    requireOpenSsh();
    dir = await makeTempDir('flex-auth-openssh-');
    caKey = path.join(dir, 'ca');
    userKey = path.join(dir, 'user');
    await generateKey(caKey, 'flex-auth-test-ca');
    await generateKey(userKey, 'flex-auth-test-user');
    const registryFile = path.join(dir, 'registry.json');
    await writeFile(registryFile, JSON.stringify(REGISTRY, null, 2));
    server = await startServer(['--registry-file', registryFile]);
    sshd = await startSshd({ dir, caPublicKeyFile: `${caKey}.pub`, principalsByUser: PRINCIPALS_BY_USER, listen: ['127.0.0.1', '127.0.0.2'] });

    grant = await allowedGrant(BACKUP_REQUEST);
    const before = Math.floor(Date.now() / 1000);
    certificate = await sign(grant, 'backup');
    signedBetween = [before, Math.ceil(Date.now() / 1000)];
  });

  after(async () => {
    await Promise.all([sshd?.stop(), server?.stop()]);
    await removeDir(dir);
  });

  it('ssh-keygen -L shows exactly the grant: type, key id, window, principals, critical options, extensions', async () => {
    const listed = await listCertificate(certificate);
    expect(listed.certType).to.equal(grant.cert_type);
    expect(listed.keyId).to.equal(grant.key_id);
    expect(listed.validTo - listed.validFrom).to.equal(grant.ttl_seconds);
    expect(listed.validFrom).to.be.within(signedBetween[0], signedBetween[1]);
    expect(listed.principals).to.deep.equal(grant.principals);
    const options = grant.critical_options;
    expect(listed.criticalOptions).to.deep.equal({
      ...(options.force_command === undefined ? {} : { 'force-command': options.force_command }),
      ...(options.source_address === undefined ? {} : { 'source-address': options.source_address.join(',') }),
    });
    expect([...listed.extensions].sort()).to.deep.equal([...grant.extensions].sort());
  });

  it('the grant is what the registry and the request asked for, with the decision id as key id', async () => {
    const { body } = await postCheck(server!.url, BACKUP_REQUEST);
    expect(grant.key_id).to.equal(body.decision_id);
    expect(grant.cert_type).to.equal('user');
    expect(grant.principals).to.deep.equal(BACKUP.principals);
    expect(grant.ttl_seconds).to.equal(2 * 3600);
    expect([...grant.extensions].sort()).to.deep.equal([...BACKUP_REQUEST.context!.extensions!].sort());
    expect(grant.critical_options).to.deep.equal(BACKUP.certificate.critical_options);
  });

  it('logs in as the local user whose principals file lists a granted principal, and sshd logs the decision id', async () => {
    const since = sshd!.proc.stderr.mark();
    const result = await login('root', certificate);
    expect(result.code, result.stderr).to.equal(0);
    const accepted = sshd!.proc.stderr.find((line) => line.raw.startsWith('Accepted publickey for root ') && line.raw.includes(` ID ${grant.key_id} `), since);
    expect(accepted, sshd!.proc.stderr.tail()).to.not.equal(undefined);
    expect(server!.stdout.find((line) => line.json?.decision_id === grant.key_id && line.json?.allow === true)).to.not.equal(undefined);
  });

  it('runs the forced command, whatever command the client asks for', async () => {
    const result = await login('root', certificate);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.equal(`${FORCED_OUTPUT}\n`);
  });

  it('gives the certificate a terminal only when the grant holds permit-pty, and no extension when the grant has none', async () => {
    expect(grant.extensions).to.include('permit-pty');
    const withPty = await login('root', certificate, { terminal: true });
    expect(withPty.code, withPty.stderr).to.equal(0);
    expect(withPty.stderr).to.not.match(PTY_REFUSED);

    // No extensions at all: where a signer's defaults would slip in, the certificate must carry none.
    const noPty = await allowedGrant({ ...BACKUP_REQUEST, context: { ...BACKUP_REQUEST.context, extensions: [] } });
    expect(noPty.extensions).to.deep.equal([]);
    const noPtyCertificate = await sign(noPty, 'no-pty');
    expect((await listCertificate(noPtyCertificate)).extensions).to.deep.equal([]);
    const withoutPty = await login('root', noPtyCertificate, { terminal: true });
    expect(withoutPty.stderr).to.match(PTY_REFUSED);
  });

  it('refuses the certificate as a login whose principals file lists none of the granted principals', async () => {
    const result = await login('nobody', certificate);
    expect(result.code).to.equal(255);
    expect(result.stderr).to.match(DENIED);
  });

  it("refuses another actor's allowed certificate as the backup's login", async () => {
    const other = await allowedGrant({ subject: { id: 'agt-inventory' }, action: 'sign', resource: { id: OTHER.name } });
    expect(other.principals.some((p) => PRINCIPALS_BY_USER.root.includes(p))).to.equal(false);
    const result = await login('root', await sign(other, 'other'));
    expect(result.code).to.equal(255);
    expect(result.stderr).to.match(DENIED);
  });

  it('refuses a connection from outside source_address (from 127.0.0.2), the same certificate that logs in from 127.0.0.1', async () => {
    expect(grant.critical_options?.source_address).to.not.include('127.0.0.2/32');
    const since = sshd!.proc.stderr.mark();
    const result = await login('root', certificate, { bind: '127.0.0.2' });
    expect(result.code).to.equal(255);
    expect(result.stderr).to.match(DENIED);
    // It reached sshd from the second address, so the refusal is sshd's, not the network's.
    expect(sshd!.proc.stderr.find((line) => line.raw.includes('127.0.0.2'), since), sshd!.proc.stderr.tail()).to.not.equal(undefined);
  });

  it('refuses a certificate of the same grant whose ttl has passed', async () => {
    const expired = await sign(grant, 'expired', { endedSecondsAgo: 60 });
    const listed = await listCertificate(expired);
    expect(listed.validTo - listed.validFrom).to.equal(grant.ttl_seconds);
    expect(listed.validTo).to.be.below(Date.now() / 1000);
    const result = await login('root', expired);
    expect(result.code).to.equal(255);
    expect(result.stderr).to.match(DENIED);
  });

  it('a denied request carries no grant, so there is nothing to sign', async () => {
    const denied: CheckInput = { ...BACKUP_REQUEST, context: { ...BACKUP_REQUEST.context, extensions: ['permit-pty', 'permit-agent-forwarding'] } };
    const { status, body } = await postCheck(server!.url, denied);
    expect(status).to.equal(200);
    expect(body.allow).to.equal(false);
    expect(body.reason).to.equal('extension_not_allowed');
    expect(body).to.not.have.property('grant');
    const outcome = await new FlexAuthClient({ baseUrl: server!.url, timeoutMs: 5000 }).check(denied);
    expect(outcome.allow).to.equal(false);
    expect(outcome).to.not.have.property('grant');
  });
});
