import { connect } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { checkFor } from '../helpers/documents.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { startServerLoggingToFile } from '../helpers/flex-auth.js';
import type { FileLoggedServer } from '../helpers/flex-auth.js';
import { getJson } from '../helpers/http.js';
import { PRODUCTION_REGISTRY } from '../helpers/paths.js';
import { pollUntil } from '../helpers/poll.js';

describe('graceful shutdown', function () {
  this.timeout(60_000);
  let dir: string;
  let server: FileLoggedServer | undefined;

  before(async () => {
    dir = await makeTempDir();
  });

  after(async () => {
    await server?.stop('SIGKILL');
    await removeDir(dir);
  });

  it('on SIGTERM stops being ready first, finishes the check in flight, logs it, then exits 0', async () => {
    server = await startServerLoggingToFile(['--registry-file', PRODUCTION_REGISTRY, '--shutdown-delay', '2s'], path.join(dir, 'stdout.log'));
    const { port } = new URL(server.url);
    const body = JSON.stringify(checkFor('agt-state-hub-bridge'));

    // A check whose body is still arriving when the signal comes.
    const socket = connect(Number(port), '127.0.0.1');
    let response = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (response += chunk));
    const answered = new Promise<void>((resolve) => socket.on('data', () => /\r\n\r\n.*\}$/s.test(response) && resolve()));
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(`POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Request-Id: in-flight-1\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 20)}`);
    await pollUntil(() => getJson(server!.url, '/healthz'), (r) => r.status === 200, 'the server to answer while the check is in flight');

    const exited = server.stop('SIGTERM', 30_000);
    const unready = await pollUntil(() => getJson(server!.url, '/readyz'), (r) => r.status === 503, '/readyz to turn 503');
    expect(unready.body).to.include({ ready: false, shutting_down: true });

    socket.write(body.slice(20));
    await answered;
    expect(response).to.match(/^HTTP\/1\.1 200 /);
    expect(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))).to.include({ allow: true });

    const status = await exited;
    expect(status).to.deep.equal({ code: 0, signal: null });
    const messages = server.logLines().map((line) => line.json);
    const decision = messages.findIndex((line) => line?.msg === 'decision' && line.request_id === 'in-flight-1');
    const stopping = messages.findIndex((line) => line?.msg === 'shutting down');
    const stopped = messages.findIndex((line) => line?.msg === 'stopped');
    expect(decision, 'the decision line').to.be.greaterThan(-1);
    expect(stopping).to.be.lessThan(decision);
    expect(stopped).to.be.greaterThan(decision);
    expect(stopped).to.equal(messages.length - 1);
    socket.destroy();
  });
});
