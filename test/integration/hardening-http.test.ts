/**
 * Defects a hostile review found at the HTTP edge (issue 21), each driven over a real loopback
 * socket against a real service with short timeouts set through `limits`, so nothing waits long.
 */
import type { Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import type { RunningService } from '../../src/main.js';
import { lastJsonBody, openSocket, received, startServiceWithLimits, statusLines } from '../helpers/raw-http.js';
import { checkFor } from '../helpers/documents.js';
import { isErrorBody, postCheck } from '../helpers/http.js';
import { PRODUCTION_REGISTRY } from '../helpers/paths.js';
import { pollUntil } from '../helpers/poll.js';

const BODY = JSON.stringify(checkFor('agt-state-hub-bridge'));
const LIMITS = { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 300, maxConnections: 6 };

describe('HTTP hardening (issue 21)', function () {
  this.timeout(30_000);
  let service: RunningService;
  const sockets: Socket[] = [];

  before(async () => {
    service = await startServiceWithLimits(PRODUCTION_REGISTRY, LIMITS);
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    // Each test starts with every connection slot free again.
    await pollUntil(() => fetch(`${service.url}/healthz`, { headers: { connection: 'close' } }).then((r) => r.status), (s) => s === 200, 'a free connection');
  });

  after(async () => {
    await service.close();
  });

  async function socket(): Promise<Socket> {
    const s = await openSocket(service.port, { allowHalfOpen: true });
    sockets.push(s);
    return s;
  }

  /** Every one of the `maxConnections` connections is accepted and served: none is still held. */
  async function serveAtFullCapacity(): Promise<void> {
    const fresh = await Promise.all(Array.from({ length: LIMITS.maxConnections }, () => socket()));
    const answers = fresh.map((s) => received(s));
    for (const s of fresh) s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    for (const { data } of await Promise.all(answers)) expect(statusLines(data)).to.deep.equal(['HTTP/1.1 200']);
  }

  it('answers checks while clients stall mid-body, and closes the stalled connections after the request timeout', async () => {
    const stalled = await Promise.all(Array.from({ length: LIMITS.maxConnections - 1 }, () => socket()));
    const answers = stalled.map((s) => received(s));
    for (const s of stalled) s.write(`POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY[0]}`);
    // A slow body holds no slot a complete check needs.
    const during = await postCheck(service.url, checkFor('agt-state-hub-bridge'), { headers: { connection: 'close' } });
    expect(during.status, during.text).to.equal(200);
    for (const answer of await Promise.all(answers)) expect(answer.data).to.match(/^HTTP\/1\.1 408 /);
    await serveAtFullCapacity();
  });

  it('counts a body that ran out of time as the 408 it was answered, not as a 400', async () => {
    const count = async (route: string, status: number) => {
      const text = await (await fetch(`${service.url}/metrics`, { headers: { connection: 'close' } })).text();
      const line = new RegExp(`^flex_auth_http_requests_total\\{route="${route}",method="POST",status="${status}"\\} (\\d+)$`, 'm').exec(text);
      return Number(line?.[1] ?? 0);
    };
    for (const route of ['/v1/check', '/access/v1/evaluation']) {
      const before = { timedOut: await count(route, 408), bad: await count(route, 400) };
      const stalled = await socket();
      const answer = received(stalled);
      stalled.write(`POST ${route} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY[0]}`);
      expect((await answer).data, route).to.match(/^HTTP\/1\.1 408 /);
      await pollUntil(() => count(route, 408), (n) => n === before.timedOut + 1, `one more 408 on ${route}`);
      expect(await count(route, 400), route).to.equal(before.bad);
    }
  });

  it('frees every connection of clients that send only a request line and Host, after the headers timeout', async () => {
    const held = await Promise.all(Array.from({ length: LIMITS.maxConnections }, () => socket()));
    const answers = held.map((s) => received(s));
    for (const s of held) s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    for (const answer of await Promise.all(answers)) expect(answer.data).to.match(/^HTTP\/1\.1 408 /);
    await serveAtFullCapacity();
  });

  it('closes idle keep-alive connections of clients that never close their side', async () => {
    const idle = await Promise.all(Array.from({ length: LIMITS.maxConnections }, () => socket()));
    const answers = idle.map((s) => received(s));
    for (const s of idle) s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    for (const { data, ended } of await Promise.all(answers)) {
      expect(data).to.match(/^HTTP\/1\.1 200 /);
      expect(ended).to.equal(true);
    }
    await serveAtFullCapacity();
  });

  it('answers a valid check before refusing the malformed request pipelined behind it', async () => {
    const s = await socket();
    const answer = received(s);
    s.write(`POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}NOT HTTP AT ALL\r\n\r\n`);
    const { data, ended } = await answer;
    expect(statusLines(data)).to.deep.equal(['HTTP/1.1 200', 'HTTP/1.1 400']);
    expect(data).to.include('"allow":true');
    expect(ended).to.equal(true);
  });

  it('answers unknown methods and unknown paths in the JSON error shape: 404 for a path nobody serves, 405 with Allow for a known one', async () => {
    const cases: [string, string, number, string | null][] = [
      ['PROPFIND', '/healthz', 405, 'GET, HEAD'],
      ['POST', '/healthz', 405, 'GET, HEAD'],
      ['DELETE', '/v1/check', 405, 'POST'],
      ['TRACE', '/nope', 404, null],
      ['PROPFIND', '/nope', 404, null],
      ['GET', '/nope', 404, null],
    ];
    for (const [method, path, status, allow] of cases) {
      const s = await socket();
      const answer = received(s);
      s.write(`${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      const { data } = await answer;
      const label = `${method} ${path}`;
      expect(data, label).to.match(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(data, label).to.match(/\r\nContent-Type: application\/json; charset=utf-8\r\n/i);
      expect(isErrorBody(lastJsonBody(data)), label).to.equal(true);
      if (allow) expect(data, label).to.match(new RegExp(`\\r\\nAllow: ${allow}\\r\\n`, 'i'));
    }
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).to.include('flex_auth_http_requests_total{route="/healthz",method="POST",status="405"} 1');
    expect(metrics).to.include('flex_auth_http_requests_total{route="unmatched",method="TRACE",status="404"} 1');
  });

  it('answers OPTIONS on a known path with its Allow header, in both lanes', async () => {
    for (const [path, allow] of [['/v1/check', 'POST'], ['/readyz', 'GET, HEAD']] as const) {
      const response = await fetch(`${service.url}${path}`, { method: 'OPTIONS' });
      expect(response.status, path).to.equal(204);
      expect(response.headers.get('allow'), path).to.equal(allow);
    }
  });

  it('decides a check sent with an absolute-form request target', async () => {
    const s = await socket();
    const answer = received(s);
    s.write(`POST http://127.0.0.1:${service.port}/v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n${BODY}`);
    const { data } = await answer;
    expect(statusLines(data)).to.deep.equal(['HTTP/1.1 200']);
    expect(data).to.include('"allow":true');
  });

  it('decides a check whose request target carries a fragment, as Koa would route it (not a 405)', async () => {
    const s = await socket();
    const answer = received(s);
    s.write(`POST /v1/check#x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n${BODY}`);
    const { data } = await answer;
    expect(statusLines(data)).to.deep.equal(['HTTP/1.1 200']);
    expect(data).to.include('"allow":true');
  });

  it('refuses a body with a duplicate key, naming its path, on /v1/check and AuthZEN alike', async () => {
    // Last-wins would let a second "id" silently replace the first.
    const duplicated = '{"subject":{"id":"iam:agt-state-hub-bridge"},"action":"sign",' +
      '"resource":{"type":"ssh_actor","id":"agt-state-hub-bridge","id":"adm-example"}}';
    for (const route of ['/v1/check', '/access/v1/evaluation']) {
      const response = await fetch(`${service.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: duplicated });
      expect(response.status, route).to.equal(400);
      const body = await response.json() as { error: { code: string; details: { path: string; message: string }[] } };
      expect(body.error.code).to.equal('invalid_request');
      expect(body.error.details.map((d) => d.path)).to.deep.equal(['resource.id']);
      expect(body.error.details[0]!.message).to.match(/duplicate key/);
    }
  });

  it('answers a compressed body with 415 and says which encoding it accepts', async () => {
    const response = await fetch(`${service.url}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(BODY),
    });
    expect(response.status).to.equal(415);
    expect(response.headers.get('accept-encoding')).to.equal('identity');
    const body = await response.json() as { error: { code: string; message: string } };
    expect(body.error.code).to.equal('unsupported_media_type');
    expect(body.error.message).to.include('gzip');
  });

  it('lists at most 20 problems in an error, and says how many more there were', async () => {
    const extra = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`unknown_${i}`, i]));
    const response = await postCheck(service.url, { ...checkFor('agt-state-hub-bridge'), ...extra });
    expect(response.status).to.equal(400);
    expect(isErrorBody(response.body)).to.equal(true);
    const { details } = response.body.error as { details: { path: string; message: string }[] };
    expect(details).to.have.length(21);
    expect(details.slice(0, 20).every((d) => d.path.startsWith('unknown_'))).to.equal(true);
    expect(details[20]).to.deep.equal({ path: '(root)', message: '... and 10 more errors' });
  });
});
