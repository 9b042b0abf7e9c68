import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { readJsonBody } from '../../../src/http/body.js';
import { FlexAuthError } from '../../../src/core/errors.js';

const LIMIT = 1024;

/** What `readJsonBody` called back with, for one request served by a real server. */
interface Outcome {
  readonly error?: { readonly code: string; readonly status: number; readonly message: string };
  readonly body?: unknown;
}

describe('readJsonBody (src/http/body.ts)', () => {
  let server: Server;
  let port: number;
  let outcomes: Outcome[];

  before(async () => {
    server = createServer((req, res) => {
      readJsonBody(req, LIMIT, (error, body) => {
        outcomes.push(error
          ? { error: error instanceof FlexAuthError ? { code: error.code, status: error.status, message: error.message } : { code: 'other', status: 0, message: error.message } }
          : { body });
        res.writeHead(204, { connection: 'close' }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  beforeEach(() => {
    outcomes = [];
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function send(headers: Record<string, string>, body?: string | Buffer): Promise<Outcome> {
    const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
    expect(response.status).to.equal(204);
    expect(outcomes).to.have.length(1);
    return outcomes[0]!;
  }

  it('parses a JSON body, with or without a charset parameter', async () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON;charset=UTF-8']) {
      outcomes = [];
      expect(await send({ 'content-type': type }, '{"a":[1,"é"]}'), type).to.deep.equal({ body: { a: [1, 'é'] } });
    }
  });

  it('takes an explicit identity encoding as no encoding', async () => {
    expect(await send({ 'content-type': 'application/json', 'content-encoding': 'identity' }, '{}')).to.deep.equal({ body: {} });
  });

  it('refuses a missing or other media type with 415, naming what came', async () => {
    expect((await send({}, '{}')).error).to.include({ status: 415, code: 'unsupported_media_type' });
    outcomes = [];
    const other = await send({ 'content-type': 'application/jsonp' }, '{}');
    expect(other.error).to.include({ status: 415, code: 'unsupported_media_type' });
    expect(other.error!.message).to.include('application/jsonp');
  });

  it('refuses a compressed body with 415 instead of reading it as JSON', async () => {
    const outcome = await send({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync('{}'));
    expect(outcome.error).to.include({ status: 415, code: 'unsupported_media_type' });
    expect(outcome.error!.message).to.include('gzip');
  });

  it('refuses a body above the limit with 413, whether declared or only found while reading', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(LIMIT) });
    expect((await send({ 'content-type': 'application/json' }, big)).error).to.include({ status: 413, code: 'payload_too_large' });
    outcomes = [];
    // Chunked: no Content-Length to judge by, so the limit is found while reading.
    const stream = new ReadableStream({ start(controller) { controller.enqueue(new TextEncoder().encode(big)); controller.close(); } });
    const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(response.status).to.equal(204);
    expect(outcomes[0]!.error).to.include({ status: 413, code: 'payload_too_large' });
  });

  it('answers a body exactly at the limit', async () => {
    const exact = JSON.stringify({ pad: 'x'.repeat(LIMIT - 10) });
    expect(Buffer.byteLength(exact)).to.equal(LIMIT);
    expect((await send({ 'content-type': 'application/json' }, exact)).body).to.deep.equal({ pad: 'x'.repeat(LIMIT - 10) });
  });

  it('refuses text that is not JSON with 400 invalid_request', async () => {
    expect((await send({ 'content-type': 'application/json' }, '{"a":')).error).to.include({ status: 400, code: 'invalid_request' });
  });

  it('calls back once with 400 when the client goes away mid-body', async () => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":', () => socket.destroy());
    for (let i = 0; i < 400 && outcomes.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(outcomes).to.have.length(1);
    expect(outcomes[0]!.error).to.include({ status: 400, code: 'invalid_request', message: 'request body was cut short' });
  });
});
