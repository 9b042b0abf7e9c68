import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import { createLogger } from '../../src/logger.js';
import { startService } from '../../src/main.js';
import type { RunningService } from '../../src/main.js';
import { PRODUCTION_REGISTRY, checkFor, pollUntil, postCheck } from './helpers.js';

/** What a raw socket received until the server closed it (or `timeoutMs` passed). */
function collect(socket: Socket, timeoutMs = 5000): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve) => {
    let data = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (data += chunk));
    const timer = setTimeout(() => resolve({ data, closed: false }), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ data, closed: true });
    });
    socket.on('error', () => {});
  });
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

function jsonBody(response: string): Record<string, any> {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as Record<string, any>;
}

const BODY = JSON.stringify(checkFor('agt-state-hub-bridge'));
const partialRequest = (port: number) =>
  `POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY.slice(0, 10)}`;

describe('server limits', function () {
  this.timeout(30_000);
  let service: RunningService;
  const sockets: Socket[] = [];

  before(async () => {
    service = await startService(
      { host: '127.0.0.1', port: 0, registry: { kind: 'file', path: PRODUCTION_REGISTRY } },
      {
        // Decision lines are written at every level; this suite reads none of them.
        logger: createLogger({ destination: { write: () => {} } }),
        fileSource: { pollIntervalMs: 0 },
        limits: { headersTimeoutMs: 400, requestTimeoutMs: 1500, keepAliveTimeoutMs: 300, maxConnections: 6, maxHeaderBytes: 4096 },
        shutdownGraceMs: 100,
      },
    );
  });

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy();
  });

  after(async () => {
    await service.close();
  });

  async function socket(): Promise<Socket> {
    const s = await open(service.port);
    sockets.push(s);
    return s;
  }

  it('answers a client that never finishes its headers with 408 request_timeout and closes', async () => {
    const s = await socket();
    const received = collect(s);
    s.write('POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: app');
    const { data, closed } = await received;
    expect(closed).to.equal(true);
    expect(data).to.match(/^HTTP\/1\.1 408 /);
    expect(jsonBody(data).error).to.include({ code: 'request_timeout' });
  });

  it('closes a connection whose body never finishes', async () => {
    const s = await socket();
    const received = collect(s);
    s.write(partialRequest(service.port));
    const { closed } = await received;
    expect(closed).to.equal(true);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const s = await socket();
    const received = collect(s);
    s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    const { data, closed } = await received;
    expect(data).to.match(/^HTTP\/1\.1 200 /);
    expect(closed).to.equal(true);
  });

  it('answers oversized headers with 431 headers_too_large', async () => {
    const s = await socket();
    const received = collect(s);
    s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
    const { data } = await received;
    expect(data).to.match(/^HTTP\/1\.1 431 /);
    expect(jsonBody(data).error).to.include({ code: 'headers_too_large' });
  });

  it('answers a body over 64 KiB with 413 and closes the connection rather than read the rest', async () => {
    const s = await socket();
    const received = collect(s);
    const big = JSON.stringify({ ...checkFor('agt-state-hub-bridge'), pad: 'x'.repeat(70 * 1024) });
    // Chunked, so the size is found while reading, not from Content-Length.
    s.write(`POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    s.write(`${big.length.toString(16)}\r\n${big}\r\n`);
    const { data, closed } = await received;
    expect(data).to.match(/^HTTP\/1\.1 413 /);
    expect(data).to.match(/\r\nConnection: close\r\n/i);
    expect(jsonBody(data).error).to.include({ code: 'payload_too_large' });
    expect(closed).to.equal(true);
  });

  it('refuses connections beyond the connection bound, and accepts again once some close', async () => {
    // Earlier tests' sockets may still count until the server sees them close.
    await pollUntil(() => fetch(`${service.url}/healthz`, { headers: { connection: 'close' } }).then((r) => r.status), (status) => status === 200, 'an accepted connection');
    const held = await Promise.all(Array.from({ length: 6 }, () => socket()));
    const extra = await socket();
    const { data, closed } = await collect(extra, 3000);
    expect(closed).to.equal(true);
    expect(data).to.equal('');
    // The held connections were accepted: the last one still gets an answer.
    const last = collect(held[5]!);
    held[5]!.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect((await last).data).to.match(/^HTTP\/1\.1 200 /);
    for (const s of held) s.destroy();
    await pollUntil(() => fetch(`${service.url}/healthz`, { headers: { connection: 'close' } }).then((r) => r.status), (status) => status === 200, 'a connection accepted again');
  });

  it('bounds principals per request and string lengths with 400 and a path', async () => {
    const many = await postCheck(service.url, checkFor('agt-state-hub-bridge', { principals: Array.from({ length: 65 }, (_, i) => `p${i}`) }));
    expect(many.status).to.equal(400);
    expect(many.body.error.details[0].path).to.equal('context.principals');
    const long = await postCheck(service.url, checkFor('a'.repeat(300), undefined, 'agt-state-hub-bridge'));
    expect(long.status).to.equal(400);
    expect(long.body.error.details[0]).to.include({ path: 'resource.id', message: 'must be at most 256 characters' });
  });
});
