import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { expect } from 'chai';
import { DEFAULT_LIMITS, limitedServer } from '../../../src/http/limits.js';

const LIMITS = { ...DEFAULT_LIMITS, headersTimeoutMs: 200, requestTimeoutMs: 400, keepAliveTimeoutMs: 200, maxHeaderBytes: 1024 };

/** A half-open client, as an attacker's would be: it never closes its side. */
function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sent until it ended the connection (bounded). */
function answer(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (data += chunk)).on('error', () => {});
    const timer = setTimeout(() => reject(new Error(`no end within 4 s; got ${JSON.stringify(data)}`)), 4000);
    socket.once('end', () => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

const bodyOf = (data: string) => JSON.parse(data.slice(data.lastIndexOf('\r\n\r\n') + 4)) as { error: { code: string } };

describe('server limits (src/http/limits.ts)', () => {
  let server: Server;
  let port: number;
  const sockets: Socket[] = [];

  before(async () => {
    // Answers in the next turn, so a pipelined request can arrive while an answer is in flight.
    server = limitedServer((req, res) => {
      req.resume().on('end', () => setImmediate(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(`answer to ${req.url}`)));
    }, LIMITS);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy();
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function client(): Promise<Socket> {
    const socket = await open(port);
    sockets.push(socket);
    return socket;
  }

  /** The server's own count of open connections, polled until it is `count` (bounded). */
  async function connectionsBecome(count: number): Promise<void> {
    let seen = -1;
    for (let i = 0; i < 200; i++) {
      seen = await new Promise<number>((resolve, reject) => server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
      if (seen === count) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(seen, 'open connections on the server').to.equal(count);
  }

  const cases = [
    ['headers that never finish', 'GET / HTTP/1.1\r\nHost: x\r\n', 408, 'request_timeout'],
    ['a body that never finishes', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{', 408, 'request_timeout'],
    ['headers above the limit', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`, 431, 'headers_too_large'],
    ['a request that is not HTTP', 'NOT HTTP\r\n\r\n', 400, 'bad_request'],
  ] as const;
  for (const [what, request, status, code] of cases) {
    it(`answers ${what} with ${status} ${code} in the error shape, then closes the connection on its side too`, async () => {
      const socket = await client();
      const received = answer(socket);
      socket.write(request);
      const data = await received;
      expect(data).to.match(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(data).to.match(/\r\nContent-Type: application\/json; charset=utf-8\r\n/);
      expect(data).to.match(/\r\nConnection: close\r\n/);
      expect(bodyOf(data).error.code).to.equal(code);
      // The client never closed its side: only the server's destroy frees the connection.
      await connectionsBecome(0);
    });
  }

  it('answers the requests before a malformed one first, in order, then refuses it and closes', async () => {
    const socket = await client();
    const received = answer(socket);
    socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP\r\n\r\n');
    const data = await received;
    expect(data.match(/HTTP\/1\.1 \d{3}/g)).to.deep.equal(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 400']);
    expect(data.indexOf('answer to /first')).to.be.below(data.indexOf('answer to /second'));
    await connectionsBecome(0);
  });
});
