import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { FlexAuthClient } from '../../../src/client/flex-auth-client.js';

const CHECK = { subject: { id: 'agt-a' }, action: 'sign', resource: { id: 'agt-a' } };
const DENY = { allow: false, reason: 'subject_not_allowed', message: 'no', decision_id: 'decision:0123456789abcdef', registry_revision: 'sha256:x', policy: 'ssh-sign/v1' };

describe('FlexAuthClient with a token file', () => {
  let server: Server;
  let url: string;
  let dir: string;
  const seen: (string | undefined)[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'flex-auth-client-'));
    server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(DENY)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    seen.length = 0;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the file on every call, so a rotated token is sent from the next call on', async () => {
    const file = path.join(dir, 'token');
    await writeFile(file, '# projected token\nfirst-token\n');
    const client = new FlexAuthClient({ baseUrl: url, tokenFile: file });
    await client.check(CHECK);
    // The kubelet swaps a projected token in with a rename.
    await writeFile(`${file}.new`, 'second-token\n');
    await rename(`${file}.new`, file);
    await client.check(CHECK);
    expect(seen).to.deep.equal(['Bearer first-token', 'Bearer second-token']);
  });

  it('denies with no_token, sending nothing, when the file is empty or gone', async () => {
    const empty = path.join(dir, 'empty');
    await writeFile(empty, '\n# nothing here\n');
    const outcome = await new FlexAuthClient({ baseUrl: url, tokenFile: empty }).check(CHECK);
    expect(outcome).to.include({ allow: false, reason: 'no_token' });
    expect(outcome.allow ? '' : outcome.message).to.equal(`token file ${empty} has no token`);
    const gone = await new FlexAuthClient({ baseUrl: url, tokenFile: path.join(dir, 'gone') }).check(CHECK);
    expect(gone).to.include({ allow: false, reason: 'no_token' });
    expect(seen).to.deep.equal([]);
  });
});
