import type { Socket } from 'node:net';
import { expect } from 'chai';
import type { RunningService } from '../../src/main.js';
import { checkFor } from '../helpers/documents.js';
import { postCheck } from '../helpers/http.js';
import { PRODUCTION_REGISTRY } from '../helpers/paths.js';
import { pollUntil } from '../helpers/poll.js';
import { lastJsonBody, openSocket, received, startServiceWithLimits } from '../helpers/raw-http.js';

const BODY = JSON.stringify(checkFor('agt-state-hub-bridge'));
const partialRequest = (port: number) =>
  `POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY.slice(0, 10)}`;

describe('server limits', function () {
  this.timeout(30_000);
  let service: RunningService;
  const sockets: Socket[] = [];

  before(async () => {
    service = await startServiceWithLimits(PRODUCTION_REGISTRY, { headersTimeoutMs: 400, requestTimeoutMs: 1500, keepAliveTimeoutMs: 300, maxConnections: 6, maxHeaderBytes: 4096 });
  });

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy();
  });

  after(async () => {
    await service.close();
  });

  async function socket(): Promise<Socket> {
    const s = await openSocket(service.port);
    sockets.push(s);
    return s;
  }

  it('answers a client that never finishes its headers with 408 request_timeout and closes', async () => {
    const s = await socket();
    const answer = received(s);
    s.write('POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: app');
    const { data, ended } = await answer;
    expect(ended).to.equal(true);
    expect(data).to.match(/^HTTP\/1\.1 408 /);
    expect(lastJsonBody(data).error).to.include({ code: 'request_timeout' });
  });

  it('closes a connection whose body never finishes', async () => {
    const s = await socket();
    const answer = received(s);
    s.write(partialRequest(service.port));
    const { ended } = await answer;
    expect(ended).to.equal(true);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const s = await socket();
    const answer = received(s);
    s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    const { data, ended } = await answer;
    expect(data).to.match(/^HTTP\/1\.1 200 /);
    expect(ended).to.equal(true);
  });

  it('answers oversized headers with 431 headers_too_large', async () => {
    const s = await socket();
    const answer = received(s);
    s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
    const { data } = await answer;
    expect(data).to.match(/^HTTP\/1\.1 431 /);
    expect(lastJsonBody(data).error).to.include({ code: 'headers_too_large' });
  });

  it('answers a body over 64 KiB with 413 and closes the connection rather than read the rest', async () => {
    const s = await socket();
    const answer = received(s);
    const big = JSON.stringify({ ...checkFor('agt-state-hub-bridge'), pad: 'x'.repeat(70 * 1024) });
    // Chunked, so the size is found while reading, not from Content-Length.
    s.write(`POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    s.write(`${big.length.toString(16)}\r\n${big}\r\n`);
    const { data, ended } = await answer;
    expect(data).to.match(/^HTTP\/1\.1 413 /);
    expect(data).to.match(/\r\nConnection: close\r\n/i);
    expect(lastJsonBody(data).error).to.include({ code: 'payload_too_large' });
    expect(ended).to.equal(true);
  });

  it('refuses connections beyond the connection bound, and accepts again once some close', async () => {
    // Earlier tests' sockets may still count until the server sees them close.
    await pollUntil(() => fetch(`${service.url}/healthz`, { headers: { connection: 'close' } }).then((r) => r.status), (status) => status === 200, 'an accepted connection');
    const held = await Promise.all(Array.from({ length: 6 }, () => socket()));
    const extra = await socket();
    const { data, ended } = await received(extra, 3000);
    expect(ended).to.equal(true);
    expect(data).to.equal('');
    // The held connections were accepted: the last one still gets an answer.
    const last = received(held[5]!);
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
