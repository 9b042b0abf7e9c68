import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeDecisionLog } from '../helpers/audit-log.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCli } from '../helpers/flex-auth.js';
import { PRODUCTION_REGISTRY } from '../helpers/paths.js';

const KEY = 'cli-test-audit-key-0123456789abcdef';

describe('flex-auth audit verify (the command)', function () {
  this.timeout(60_000);
  let dir: string;
  let keyFile: string;
  let lines: string[];
  let logFile: string;

  before(async () => {
    dir = await makeTempDir();
    keyFile = path.join(dir, 'audit-key');
    await writeFile(keyFile, `${KEY}\n`);
    ({ lines } = writeDecisionLog(25, { key: KEY, everyDecisions: 10 }));
    logFile = path.join(dir, 'all.log');
    await writeFile(logFile, `${lines.join('\n')}\n`);
  });

  after(() => removeDir(dir));

  it('exits 0 for an intact log and says through which seq, for people and for tools', async () => {
    const text = await runCli(['audit', 'verify', '--key-file', keyFile, logFile]);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/: intact \(25 decision lines, seq 1-25\); intact through seq 25\n/);
    expect(text.stdout).to.include('checkpoints: 3 (checked with the key); covered through seq 25');
    const json = await runCli(['audit', 'verify', '--key-file', keyFile, '--format', 'json', logFile]);
    expect(json.code).to.equal(0);
    const report = JSON.parse(json.stdout) as { intact: boolean; logs: { intact_through: number; covered_through: number }[] };
    expect(report).to.include({ intact: true });
    expect(report.logs).to.have.length(1);
    expect(report.logs[0]).to.include({ intact_through: 25, covered_through: 25 });
  });

  it('reads standard input for -', async () => {
    const result = await runCli(['audit', 'verify', '--key-file', keyFile, '-'], { stdin: `${lines.join('\n')}\n` });
    expect(result.code, result.stderr).to.equal(0);
  });

  it('follows a log rotated into files given oldest first, and finds them out of order the other way round', async () => {
    const older = path.join(dir, 'older.log');
    const newer = path.join(dir, 'newer.log');
    await writeFile(older, `${lines.slice(0, 12).join('\n')}\n`);
    await writeFile(newer, `${lines.slice(12).join('\n')}\n`);
    expect((await runCli(['audit', 'verify', '--key-file', keyFile, older, newer])).code).to.equal(0);
    const reversed = await runCli(['audit', 'verify', '--key-file', keyFile, newer, older]);
    expect(reversed.code).to.equal(1);
    expect(reversed.stdout).to.include('NOT intact');
  });

  it('exits 1 when a line is missing or checkpoints are not the key\'s, naming the seq', async () => {
    const gapped = path.join(dir, 'gapped.log');
    await writeFile(gapped, `${lines.filter((line) => !line.includes('"request_id":"r-5"')).join('\n')}\n`);
    const missing = await runCli(['audit', 'verify', '--key-file', keyFile, gapped]);
    expect(missing.code).to.equal(1);
    expect(missing.stdout).to.include('intact through seq 4\n  seq 5: missing\n');
    const otherKey = path.join(dir, 'other-key');
    await writeFile(otherKey, 'another-key-entirely-0123456789');
    const wrongKey = await runCli(['audit', 'verify', '--key-file', otherKey, logFile]);
    expect(wrongKey.code).to.equal(1);
    expect(wrongKey.stdout).to.include('seq 10: checkpoint not made with the key');
    expect(wrongKey.stdout).to.not.include(KEY).and.not.include('another-key-entirely');
  });

  it('exits 1 for input without decision lines, and 2 for bad usage or unreadable input', async () => {
    const empty = path.join(dir, 'empty.log');
    await writeFile(empty, '{"msg":"listening"}\n');
    expect((await runCli(['audit', 'verify', empty])).code).to.equal(1);
    for (const args of [['audit'], ['audit', 'check', logFile], ['audit', 'verify'], ['audit', 'verify', '--format', 'xml', logFile],
      ['audit', 'verify', path.join(dir, 'absent.log')], ['audit', 'verify', '--key-file', path.join(dir, 'absent-key'), logFile]]) {
      const result = await runCli(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).to.equal(2);
      expect(result.stderr).to.match(/^flex-auth audit: /);
    }
  });

  it('will not serve with an audit key file that is missing or empty, and never prints the key', async () => {
    const absent = path.join(dir, 'no-such-key');
    const missing = await runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--registry-file', PRODUCTION_REGISTRY, '--audit-key-file', absent]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr.trim()).to.equal(`flex-auth serve: audit key file ${absent} does not exist`);
    const emptyKey = path.join(dir, 'empty-key');
    await writeFile(emptyKey, '\n');
    const empty = await runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--registry-file', PRODUCTION_REGISTRY], { env: { FLEX_AUTH_AUDIT_KEY_FILE: emptyKey } });
    expect(empty.code).to.equal(2);
    expect(empty.stderr.trim()).to.equal(`flex-auth serve: audit key file ${emptyKey} is empty`);
  });
});
