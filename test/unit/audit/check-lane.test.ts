import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../../src/http/app.js';
import { AuditVerifier } from '../../../src/http/audit-verify.js';
import { BearerTokens } from '../../../src/http/auth.js';
import { createLogger } from '../../../src/logger.js';
import { Metrics } from '../../../src/metrics.js';
import { RegistryStore } from '../../../src/registry/store.js';
import { PRODUCTION_REGISTRY, REQUESTS_DIR } from '../../helpers/paths.js';

describe('the check lane\'s decision lines as evidence', () => {
  it('chains the fail-closed registry_unavailable answers and the decisions after them in one log, naming the caller', async () => {
    let written = '';
    const logger = createLogger({ destination: { write: (lines: string) => { written += lines; } } });
    const store = new RegistryStore({ kind: 'file', name: 'file:/registry.json' });
    const token = 'a-caller-token-for-the-lane-test';
    const tokens = BearerTokens.parse(token);
    const server = createServer(createApp({ store, metrics: new Metrics('file'), logger, isDraining: () => false, tokens: () => tokens }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/check`;
      const body = readFileSync(`${REQUESTS_DIR}/allow-iam-subject.json`, 'utf8');
      const check = () => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
      expect((await Promise.all([check(), check()])).map((response) => response.status)).to.deep.equal([503, 503]);
      expect(store.apply(readFileSync(PRODUCTION_REGISTRY, 'utf8'))).to.equal('loaded');
      expect((await Promise.all([check(), check(), check()])).map((response) => response.status)).to.deep.equal([200, 200, 200]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const lines = written.split('\n').filter((line) => line.includes('"msg":"decision"'));
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.map((line) => [line.seq, line.reason, line.caller])).to.deep.equal([
      [1, 'registry_unavailable', tokens.callerOf(token)],
      [2, 'registry_unavailable', tokens.callerOf(token)],
      [3, 'allowed', tokens.callerOf(token)],
      [4, 'allowed', tokens.callerOf(token)],
      [5, 'allowed', tokens.callerOf(token)],
    ]);
    expect(tokens.callerOf(token)).to.match(/^token:[0-9a-f]{8}$/);
    expect(written).to.not.include(token);
    const verifier = new AuditVerifier();
    for (const line of lines) verifier.add(line);
    expect(verifier.report()).to.deep.include({ intact: true });
  });
});
