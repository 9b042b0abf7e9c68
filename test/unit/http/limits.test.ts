import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { expect } from 'chai';
import { DEFAULT_LIMITS, limitedServer } from '../../../src/http/limits.js';
import { lastJsonBody, openSocket, received, statusLines } from '../../helpers/raw-http.js';

const LIMITS = { ...DEFAULT_LIMITS, headersTimeoutMs: 200, requestTimeoutMs: 400, keepAliveTimeoutMs: 200, maxHeaderBytes: 1024 };

/** Everything the server sent until it ended the connection; fails if it never does. */
async function answer(socket: Socket): Promise<string> {
  const { data, ended } = await received(socket);
  expect(ended, `the server ends the connection; it sent ${JSON.stringify(data)}`).to.equal(true);
  return data;
}

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
    const socket = await openSocket(port, { allowHalfOpen: true });
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
      expect(lastJsonBody(data).error.code).to.equal(code);
      // The client never closed its side: only the server's destroy frees the connection.
      await connectionsBecome(0);
    });
  }

  it('answers the requests before a malformed one first, in order, then refuses it and closes', async () => {
    const socket = await client();
    const received = answer(socket);
    socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP\r\n\r\n');
    const data = await received;
    expect(statusLines(data)).to.deep.equal(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 400']);
    expect(data.indexOf('answer to /first')).to.be.below(data.indexOf('answer to /second'));
    await connectionsBecome(0);
  });
});
