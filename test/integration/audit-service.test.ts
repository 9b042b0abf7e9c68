import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AuditVerifier } from '../../src/http/audit-verify.js';
import { createLogger } from '../../src/logger.js';
import { startService } from '../../src/main.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { postCheck } from '../helpers/http.js';
import { PRODUCTION_REGISTRY, REQUESTS_DIR } from '../helpers/paths.js';

describe('the service\'s decision log checkpoints (src/main.ts)', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir();
  });
  after(() => removeDir(dir));

  it('seals the last decisions at shutdown, after every check is answered', async () => {
    const keyFile = path.join(dir, 'audit-key');
    const key = randomBytes(32).toString('hex');
    await writeFile(keyFile, key);
    let written = '';
    const logger = createLogger({ destination: { write: (lines: string) => { written += lines; } } });
    const service = await startService({ host: '127.0.0.1', port: 0, registry: { kind: 'file', path: PRODUCTION_REGISTRY }, auditKeyFile: keyFile }, { logger });
    const body = readFileSync(path.join(REQUESTS_DIR, 'allow-iam-subject.json'), 'utf8');
    try {
      const answers = await Promise.all([1, 2, 3].map(() => postCheck(service.url, body)));
      expect(answers.map((answer) => answer.status)).to.deep.equal([200, 200, 200]);
    } finally {
      await service.close();
    }
    const lines = written.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    // Fewer than 1,000 decisions and well under 10 s: only shutdown writes this checkpoint.
    expect(lines.filter((line) => line.msg === 'checkpoint').map((line) => line.seq)).to.deep.equal([3]);
    expect(lines.findIndex((line) => line.msg === 'checkpoint')).to.be.lessThan(lines.findIndex((line) => line.msg === 'stopped'));
    const verifier = new AuditVerifier([Buffer.from(key)]);
    for (const line of written.split('\n')) verifier.add(line);
    expect(verifier.report()).to.deep.include({ intact: true });
    expect(written).to.not.include(key);
  });
});
