/**
 * README promises that `npm run audit:deps` never passes quietly when nothing was checked: the
 * registry's refusal of the audit request keeps exit 0 but is shouted on stderr and, under CI,
 * raised as a warning annotation. A stand-in `npm` on PATH answers as such a registry does.
 */
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { PACKAGE_ROOT } from '../helpers/paths.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCommand } from '../helpers/process.js';

const SCRIPT = path.join(PACKAGE_ROOT, 'scripts', 'audit-deps.mjs');

describe('npm run audit:deps when the registry does not answer the audit request', () => {
  let bin: string;

  before(async () => {
    bin = await makeTempDir('flex-auth-audit-');
    // What `npm audit --json` prints (abridged) when the registry refuses the endpoint.
    const refusal = JSON.stringify({ message: '405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk', method: 'POST', statusCode: 405, body: '' });
    await writeFile(path.join(bin, 'npm'), `#!/bin/sh\necho '${refusal}'\nexit 1\n`);
    await chmod(path.join(bin, 'npm'), 0o755);
  });

  after(async () => {
    await removeDir(bin);
  });

  const audit = (env: Record<string, string>) =>
    runCommand(process.execPath, [SCRIPT], { env: { PATH: `${bin}:${process.env.PATH ?? ''}`, ...env }, timeoutMs: 20_000 });

  it('exits 0 but says NOT CHECKED in a banner on stderr', async () => {
    const result = await audit({ CI: '' });
    expect(result.code).to.equal(0);
    expect(result.stdout).to.match(/^npm audit: NOT CHECKED: the registry did not answer the audit request \(405\)/m);
    expect(result.stderr).to.match(/^# NOT CHECKED: the runtime dependencies were NOT audited for known vulnerabilities\.$/m);
    expect(result.stdout).not.to.include('::warning');
  });

  it('raises a CI warning annotation when CI=true', async () => {
    const result = await audit({ CI: 'true' });
    expect(result.code).to.equal(0);
    expect(result.stdout).to.match(/^::warning title=npm audit not checked::npm audit: NOT CHECKED: .*\(405\)/m);
  });
});
