import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { FlexAuthClient } from '../../../src/index.js';
import { createLogger } from '../../../src/logger.js';
import { startService } from '../../../src/main.js';
import type { RunningService } from '../../../src/main.js';

/**
 * The FlexAuthClient usage example for docs/ops-warden-policy-gate-handoff.md, run as written
 * (between the markers) against a real flex-auth with caller authentication on.
 */

interface Certificate {
  readonly ttlSeconds: number;
  readonly principals: readonly string[];
  readonly decisionId: string;
}

// --- example:begin
async function signWithPolicy(
  flexAuth: FlexAuthClient, subject: string, actor: string, ttl: string,
  signCertificate: (grant: Certificate) => Promise<string>,
): Promise<string> {
  const outcome = await flexAuth.check({
    subject: { id: subject },
    action: 'sign',
    resource: { type: 'ssh_actor', id: actor },
    context: { ttl, metadata: { ticket: 'OPS-1234' } },
  });
  if (!outcome.allow) {
    // Fail closed: a deny, a 4xx/5xx, a timeout and an unreachable flex-auth all land here.
    throw new Error(`flex-auth refused ${actor} for ${subject}: ${outcome.reason} (${outcome.message})`);
  }
  // Sign exactly what was granted, and keep the decision id with the certificate for audit.
  return signCertificate({ ttlSeconds: outcome.grant.ttl_seconds, principals: outcome.grant.principals, decisionId: outcome.decisionId });
}

function policyGate(tokenFile: string, baseUrl = 'http://flex-auth.flex-auth.svc.cluster.local:8080'): FlexAuthClient {
  // tokenFile is read on every call: a projected service-account token rotates in place.
  return new FlexAuthClient({ baseUrl, timeoutMs: 2000, tokenFile });
}
// --- example:end

const PRODUCTION_REGISTRY = fileURLToPath(new URL('../../../../examples/ops-warden/production_registry_snapshot.json', import.meta.url));

describe('the FlexAuthClient usage example', () => {
  let service: RunningService;
  let dir: string;
  let tokenFile: string;
  const signed: Certificate[] = [];
  const sign = async (grant: Certificate) => {
    signed.push(grant);
    return `certificate for ${grant.principals.join(',')}`;
  };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'flex-auth-example-'));
    tokenFile = path.join(dir, 'token');
    await writeFile(tokenFile, 'example-caller-token\n');
    const serverTokens = path.join(dir, 'server-tokens');
    await writeFile(serverTokens, 'example-caller-token\n');
    service = await startService(
      { host: '127.0.0.1', port: 0, registry: { kind: 'file', path: PRODUCTION_REGISTRY }, authTokenFile: serverTokens },
      { logger: createLogger({ level: 'silent' }), fileSource: { pollIntervalMs: 0 }, shutdownGraceMs: 100 },
    );
  });
  after(async () => {
    await service.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('signs what flex-auth granted on an allow', async () => {
    const certificate = await signWithPolicy(policyGate(tokenFile, service.url), 'iam:agt-state-hub-bridge', 'agt-state-hub-bridge', '8h', sign);
    expect(certificate).to.equal('certificate for agt-state-hub-bridge');
    expect(signed).to.have.length(1);
    expect(signed[0]).to.include({ ttlSeconds: 28800 });
    expect(signed[0]!.decisionId).to.match(/^decision:[0-9a-f]{16}$/);
  });

  it('signs nothing on a deny, or when flex-auth cannot be asked', async () => {
    signed.length = 0;
    await expectRefusal(signWithPolicy(policyGate(tokenFile, service.url), 'iam:agt-state-hub-bridge', 'agt-state-hub-bridge', '999h', sign), /ttl_out_of_bounds/);
    await writeFile(tokenFile, 'a-token-flex-auth-does-not-know\n');
    await expectRefusal(signWithPolicy(policyGate(tokenFile, service.url), 'iam:agt-state-hub-bridge', 'agt-state-hub-bridge', '1h', sign), /http_error \(HTTP 401/);
    await expectRefusal(signWithPolicy(policyGate(tokenFile, 'http://127.0.0.1:1'), 'iam:agt-state-hub-bridge', 'agt-state-hub-bridge', '1h', sign), /unreachable/);
    expect(signed).to.deep.equal([]);
  });
});

async function expectRefusal(promise: Promise<unknown>, reason: RegExp): Promise<void> {
  const error = await promise.then(() => undefined, (e: Error) => e);
  expect(error?.message).to.match(reason);
}
