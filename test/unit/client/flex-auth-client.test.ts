import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { FlexAuthClient, MAX_ANSWER_BYTES } from '../../../src/client/flex-auth-client.js';

const CHECK = { subject: { id: 'agt-a' }, action: 'sign', resource: { id: 'agt-a' } };
const ALLOW = {
  allow: true, reason: 'allowed', decision_id: 'decision:0123456789abcdef', registry_revision: 'sha256:x', policy: 'ssh-sign/v1',
  grant: {
    ttl_seconds: 3600, principals: ['agt-a'], cert_type: 'user', extensions: ['permit-pty'],
    critical_options: { force_command: '/usr/bin/backup', source_address: ['10.0.0.0/8'] }, key_id: 'decision:0123456789abcdef',
  },
};

/** A server that answers every request with `respond`; the client's view of it is what is tested. */
async function serverAnswering(respond: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; server: Server; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      if (text) bodies.push(JSON.parse(text));
      respond(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, bodies };
}

function json(status: number, body: unknown) {
  return (_req: IncomingMessage, res: ServerResponse) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

describe('FlexAuthClient', () => {
  let server: Server | undefined;

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  async function clientFor(respond: (req: IncomingMessage, res: ServerResponse) => void, timeoutMs = 2000) {
    const started = await serverAnswering(respond);
    server = started.server;
    return { client: new FlexAuthClient({ baseUrl: `${started.url}/`, timeoutMs }), bodies: started.bodies };
  }

  it('allows on a 200 decision with allow true and a grant, and sends the request as given', async () => {
    const { client, bodies } = await clientFor(json(200, ALLOW));
    const outcome = await client.check(CHECK);
    expect(outcome).to.include({ allow: true, reason: 'allowed', decisionId: ALLOW.decision_id });
    expect(outcome.allow && outcome.grant).to.deep.equal(ALLOW.grant);
    expect(bodies).to.deep.equal([CHECK]);
  });

  it('denies with the policy reason on a deny decision', async () => {
    const { client } = await clientFor(json(200, { ...ALLOW, allow: false, reason: 'ttl_out_of_bounds', message: 'too long', grant: undefined }));
    expect(await client.check(CHECK)).to.include({ allow: false, reason: 'ttl_out_of_bounds', message: 'too long', decisionId: ALLOW.decision_id });
  });

  const malformedAllows: [string, unknown][] = [
    ['allow is the string "true"', { ...ALLOW, allow: 'true' }],
    ['the grant is missing', { ...ALLOW, grant: undefined }],
    ['the grant has no principals', { ...ALLOW, grant: { ...ALLOW.grant, principals: [] } }],
    ['the grant ttl is zero', { ...ALLOW, grant: { ...ALLOW.grant, ttl_seconds: 0 } }],
    // A flex-auth before contract section 14: signing its grant would leave the certificate to OpenBao's defaults.
    ['the grant has only principals and a ttl', { ...ALLOW, grant: { ttl_seconds: 3600, principals: ['agt-a'] } }],
    ['the grant has no cert_type', { ...ALLOW, grant: { ...ALLOW.grant, cert_type: undefined } }],
    ['the grant has an unknown cert_type', { ...ALLOW, grant: { ...ALLOW.grant, cert_type: 'ca' } }],
    ['the grant has no extensions', { ...ALLOW, grant: { ...ALLOW.grant, extensions: undefined } }],
    ['the grant has an unknown extension', { ...ALLOW, grant: { ...ALLOW.grant, extensions: ['permit-pty', 'login@example.com'] } }],
    ['the grant has no critical_options', { ...ALLOW, grant: { ...ALLOW.grant, critical_options: undefined } }],
    ['the grant has a critical option the client does not know', { ...ALLOW, grant: { ...ALLOW.grant, critical_options: { 'verify-required': '' } } }],
    ['the grant has an empty source_address', { ...ALLOW, grant: { ...ALLOW.grant, critical_options: { source_address: [] } } }],
    ['the grant has a source_address that is not a CIDR block', { ...ALLOW, grant: { ...ALLOW.grant, critical_options: { source_address: ['10.0.0.1'] } } }],
    ['the grant has a force_command with a newline', { ...ALLOW, grant: { ...ALLOW.grant, critical_options: { force_command: 'true\nrm -rf /' } } }],
    ['the grant key_id is not the decision id', { ...ALLOW, grant: { ...ALLOW.grant, key_id: 'decision:ffffffffffffffff' } }],
    ['the reason contradicts allow', { ...ALLOW, reason: 'subject_not_allowed' }],
  ];
  for (const [label, body] of malformedAllows) {
    it(`denies a 200 answer where ${label}`, async () => {
      const { client } = await clientFor(json(200, body));
      expect((await client.check(CHECK)).allow).to.equal(false);
    });
  }

  const asked = { ...CHECK, context: { ttl: '1h', principals: ['agt-a'], extensions: ['permit-pty'], critical_options: { force_command: '/usr/bin/backup', source_address: ['10.0.0.0/8'] } } };
  const widerThanAsked: [string, unknown][] = [
    ['a principal not asked for', { ...ALLOW.grant, principals: ['agt-a', 'root'] }],
    ['a principal with a comma', { ...ALLOW.grant, principals: ['agt-a,root'] }],
    ['a longer ttl than asked', { ...ALLOW.grant, ttl_seconds: 31_536_000 }],
    ['a host certificate when none was asked for', { ...ALLOW.grant, cert_type: 'host', extensions: [] }],
    ['an extension not asked for', { ...ALLOW.grant, extensions: ['permit-pty', 'permit-port-forwarding'] }],
    ['no forced command, where one was asked for', { ...ALLOW.grant, critical_options: { source_address: ['10.0.0.0/8'] } }],
    ['another forced command', { ...ALLOW.grant, critical_options: { force_command: '/bin/sh', source_address: ['10.0.0.0/8'] } }],
    ['no source_address, where one was asked for', { ...ALLOW.grant, critical_options: { force_command: '/usr/bin/backup' } }],
    ['a wider source_address', { ...ALLOW.grant, critical_options: { force_command: '/usr/bin/backup', source_address: ['0.0.0.0/0'] } }],
  ];
  for (const [label, grant] of widerThanAsked) {
    it(`denies an allow whose grant is wider than the request: ${label}`, async () => {
      const { client } = await clientFor(json(200, { ...ALLOW, grant }));
      const outcome = await client.check(asked);
      expect(outcome).to.include({ allow: false, reason: 'bad_response', status: 200 });
    });
  }

  it('allows the grant that is exactly what the request asked for', async () => {
    const { client } = await clientFor(json(200, ALLOW));
    expect(await client.check(asked)).to.include({ allow: true });
  });

  it('follows no redirect: an answer from elsewhere is a deny', async () => {
    const elsewhere = await serverAnswering(json(200, ALLOW));
    try {
      const { client } = await clientFor((_req, res) => res.writeHead(307, { location: `${elsewhere.url}/v1/check` }).end());
      expect(await client.check(CHECK)).to.include({ allow: false, status: 307 });
      expect(elsewhere.bodies).to.deep.equal([]);
    } finally {
      await new Promise((resolve) => elsewhere.server.close(resolve));
    }
  });

  for (const [label, status] of [['200', 200], ['500', 500]] as const) {
    it(`denies, never throws, on a ${label} whose body is JSON null`, async () => {
      const { client } = await clientFor((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end('null'));
      expect(await client.check(CHECK)).to.include({ allow: false, status });
      expect(await client.evaluate({ subject: { type: 'identity', id: 'agt-a' }, action: { name: 'sign' }, resource: { type: 'ssh_actor', id: 'agt-a' } })).to.include({ decision: false });
    });
  }

  it('denies an answer larger than it reads, declared or not, without reading the rest', async () => {
    const body = JSON.stringify({ ...ALLOW, padding: 'x'.repeat(MAX_ANSWER_BYTES) });
    let answers = 0;
    const { client } = await clientFor((_req, res) => {
      // First without a length (chunked), then with one.
      const length = answers++ === 0 ? {} : { 'content-length': String(Buffer.byteLength(body)) };
      res.writeHead(200, { 'content-type': 'application/json', ...length }).end(body);
    });
    expect(await client.check(CHECK)).to.include({ allow: false, reason: 'bad_response' });
    expect(await client.check(CHECK)).to.include({ allow: false, reason: 'bad_response' });
    expect(answers).to.equal(2);
  });

  it('denies with timeout, not a parse error, when the body trickles in past the deadline', async () => {
    const { client } = await clientFor((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"allow":');
      // The rest never comes: the deadline ends the read.
    }, 200);
    expect(await client.check(CHECK)).to.include({ allow: false, reason: 'timeout' });
  });

  it('denies on 503 registry_unavailable with that reason', async () => {
    const { client } = await clientFor(json(503, { allow: false, reason: 'registry_unavailable', message: 'no valid registry is loaded yet' }));
    expect(await client.check(CHECK)).to.include({ allow: false, reason: 'registry_unavailable', status: 503 });
  });

  it('denies on a 4xx or 5xx error body, even one claiming allow', async () => {
    const { client } = await clientFor(json(500, { allow: true, error: { code: 'internal_error', message: 'internal error' } }));
    expect(await client.check(CHECK)).to.include({ allow: false, reason: 'http_error', status: 500 });
  });

  it('denies on a body that is not JSON', async () => {
    const { client } = await clientFor((_req, res) => res.writeHead(200).end('allow'));
    expect(await client.check(CHECK)).to.include({ allow: false, reason: 'bad_response' });
  });

  it('denies with timeout when the server does not answer in time', async () => {
    const { client } = await clientFor(() => {}, 100);
    expect(await client.check(CHECK)).to.include({ allow: false, reason: 'timeout' });
  });

  it('denies with unreachable when nothing listens', async () => {
    const { url, server: closed } = await serverAnswering(json(200, ALLOW));
    await new Promise((resolve) => closed.close(resolve));
    const outcome = await new FlexAuthClient({ baseUrl: url }).check(CHECK);
    expect(outcome).to.include({ allow: false, reason: 'unreachable' });
    expect(outcome.allow ? '' : outcome.message).to.match(/ECONNREFUSED/);
  });

  it('reports health only for HTTP 200', async () => {
    const { client } = await clientFor(json(503, {}));
    expect(await client.healthy()).to.deep.equal({ ok: false, detail: 'HTTP 503' });
  });
});
