import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { followAuditKey, readAuditKeyFile } from '../../../src/audit-key-file.js';
import { createLogger } from '../../../src/logger.js';
import { makeTempDir, removeDir } from '../../helpers/files.js';

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  return 'accepted';
}

describe('the audit key file (src/audit-key-file.ts)', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await makeTempDir();
    file = path.join(dir, 'audit-key');
  });
  afterEach(() => removeDir(dir));

  it('reads the key without surrounding whitespace', async () => {
    const key = randomBytes(32).toString('hex');
    await writeFile(file, `${key}\n`);
    expect(readAuditKeyFile(file).toString()).to.equal(key);
  });

  it('refuses a missing, empty, blank or short key file, naming the file and never the key', async () => {
    expect(refusal(() => readAuditKeyFile(file))).to.equal(`audit key file ${file} does not exist`);
    await writeFile(file, '');
    expect(refusal(() => readAuditKeyFile(file))).to.equal(`audit key file ${file} is empty`);
    await writeFile(file, ' \n\t\n');
    expect(refusal(() => readAuditKeyFile(file))).to.equal(`audit key file ${file} is empty`);
    await writeFile(file, 'short-key-zz\n');
    const short = refusal(() => readAuditKeyFile(file));
    expect(short).to.equal(`audit key file ${file} holds a key shorter than 16 bytes`);
    expect(short).to.not.include('short-key-zz');
    expect(refusal(() => readAuditKeyFile(dir))).to.equal(`audit key file ${dir} is a directory, not a file`);
  });

  it('uses a rotated key from the next checkpoint on, and keeps the last good key while the file is unusable, saying so once without the key', async () => {
    const lines: string[] = [];
    const logger = createLogger({ destination: { write: (line: string) => lines.push(line) } });
    const first = randomBytes(24).toString('hex');
    const second = randomBytes(24).toString('hex');
    await writeFile(file, first);
    const key = followAuditKey(file, logger);
    expect(key().toString()).to.equal(first);
    await writeFile(file, second);
    expect(key().toString()).to.equal(second);
    await rm(file);
    expect(key().toString()).to.equal(second);
    await writeFile(file, '');
    expect(key().toString()).to.equal(second);
    expect(lines).to.have.length(1);
    expect(JSON.parse(lines[0]!)).to.include({ level: 'error', msg: 'audit key file re-read failed; checkpoints keep the last good key' });
    expect(lines.join('')).to.not.include(second).and.not.include(first);
    await writeFile(file, first);
    expect(key().toString()).to.equal(first);
  });
});
