import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCli, startServerLoggingToFile } from '../helpers/flex-auth.js';
import type { FileLoggedServer } from '../helpers/flex-auth.js';
import { PRODUCTION_REGISTRY, REQUESTS_DIR } from '../helpers/paths.js';

const CONNECTIONS = 16;
// Not a multiple of 1,000: the last lines are sealed at shutdown (or by the 10 s timer).
const CHECKS = 4321;

/** `count` checks over `CONNECTIONS` keep-alive connections, each connection one check at a time. */
async function load(url: string, token: string, bodies: readonly string[], count: number, offset: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const statuses: number[] = [];
  let next = 0;
  const one = (body: string) => new Promise<number>((resolve, reject) => {
    const req = request(`${url}/v1/check`, {
      method: 'POST', agent, timeout: 10_000,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-Request-Id': `load-${offset + next}` },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('timeout', () => req.destroy(new Error('check timed out')));
    req.on('error', reject);
    req.end(body);
  });
  const connection = async () => {
    while (next < count) {
      const body = bodies[(offset + next++) % bodies.length]!;
      statuses.push(await one(body));
    }
  };
  try {
    await Promise.all(Array.from({ length: CONNECTIONS }, connection));
  } finally {
    agent.destroy();
  }
  return statuses;
}

describe('the decision log of a real server as evidence (contract section 15)', function () {
  this.timeout(120_000);
  let dir: string;
  let server: FileLoggedServer | undefined;

  before(async () => {
    dir = await makeTempDir();
  });

  after(async () => {
    await server?.stop('SIGKILL');
    await removeDir(dir);
  });

  it('verifies intact under concurrent load across a key rotation, then finds a removed and an edited line by seq', async () => {
    const token = randomBytes(24).toString('hex');
    const tokenFile = path.join(dir, 'tokens');
    await writeFile(tokenFile, `${token}\n`);
    const keyFile = path.join(dir, 'audit-key');
    const oldKey = path.join(dir, 'old-key');
    const firstKey = randomBytes(32).toString('hex');
    const secondKey = randomBytes(32).toString('hex');
    await writeFile(keyFile, firstKey);
    await writeFile(oldKey, firstKey);
    const logFile = path.join(dir, 'stdout.log');
    server = await startServerLoggingToFile(['--registry-file', PRODUCTION_REGISTRY, '--auth-token-file', tokenFile, '--audit-key-file', keyFile], logFile);
    const bodies = readdirSync(REQUESTS_DIR).filter((name) => name.endsWith('.json')).map((name) => readFileSync(path.join(REQUESTS_DIR, name), 'utf8'));

    const firstHalf = await load(server.url, token, bodies, 2000, 0);
    // The Secret is rotated: checkpoints from the next one on use the new key.
    await writeFile(keyFile, secondKey);
    const secondHalf = await load(server.url, token, bodies, CHECKS - 2000, 2000);
    expect([...firstHalf, ...secondHalf].filter((status) => status !== 200)).to.deep.equal([]);
    expect(await server.stop('SIGTERM', 30_000)).to.deep.equal({ code: 0, signal: null });

    const logged = server.logLines();
    const decisions = logged.filter((line) => line.json?.msg === 'decision').map((line) => line.json!);
    const checkpoints = logged.filter((line) => line.json?.msg === 'checkpoint').map((line) => line.json!);
    const logId = logged.find((line) => line.json?.msg === 'listening')!.json!.log_id as string;
    expect(decisions).to.have.length(CHECKS);
    expect(decisions.map((line) => line.seq)).to.deep.equal(Array.from({ length: CHECKS }, (_, i) => i + 1));
    const caller = `token:${createHash('sha256').update(token).digest('hex').slice(0, 8)}`;
    for (const line of decisions) {
      expect(line).to.include({ log_id: logId, caller });
      if (line.allow) {
        expect(line.grant.ttl_seconds).to.be.a('number');
        expect(line.grant.principals).to.be.an('array').that.is.not.empty;
      } else expect(line).to.not.have.property('grant');
    }
    // Every 1,000 decisions (and, on a slow run, also every 10 s); the last one seals the last line.
    const sealed = checkpoints.map((line) => line.seq as number);
    expect(sealed).to.include.members([1000, 2000, 3000, 4000]);
    expect(sealed.at(-1)).to.equal(CHECKS);
    const text = readFileSync(logFile, 'utf8');
    expect(text).to.not.include(firstKey).and.not.include(secondKey).and.not.include(token);

    const bothKeys = await runCli(['audit', 'verify', '--key-file', oldKey, '--key-file', keyFile, '--format', 'json', logFile]);
    expect(bothKeys.code, bothKeys.stdout + bothKeys.stderr).to.equal(0);
    expect(JSON.parse(bothKeys.stdout).logs).to.deep.equal([{
      log_id: logId, intact: true, decision_lines: CHECKS, first_seq: 1, last_seq: CHECKS, intact_through: CHECKS,
      problems: [], checkpoints: sealed.length, covered_through: CHECKS, not_covered: null,
    }]);
    // Only the old key: the checkpoints made after the rotation are not its.
    const onlyOld = await runCli(['audit', 'verify', '--key-file', oldKey, '--format', 'json', logFile]);
    expect(onlyOld.code).to.equal(1);
    expect(JSON.parse(onlyOld.stdout).logs[0].problems.map((problem: { kind: string }) => problem.kind)).to.include('checkpoint_invalid');

    const removedSeq = 1234;
    const editedSeq = 2345;
    const tampered = text.split('\n').filter((line) => !line.includes(`"seq":${removedSeq},"log_id"`)).map((line) => {
      if (!line.includes(`"seq":${editedSeq},"log_id"`)) return line;
      const edited = line.replace(/"caller":"[^"]*"/, '"caller":"token:00000000"');
      expect(edited).to.not.equal(line);
      return edited;
    });
    const tamperedFile = path.join(dir, 'tampered.log');
    await writeFile(tamperedFile, tampered.join('\n'));
    const found = await runCli(['audit', 'verify', '--key-file', oldKey, '--key-file', keyFile, '--format', 'json', tamperedFile]);
    expect(found.code).to.equal(1);
    const [report] = JSON.parse(found.stdout).logs;
    expect(report.problems).to.deep.equal([{ kind: 'missing', seq: removedSeq }, { kind: 'altered', seq: editedSeq }]);
    expect(report.intact_through).to.equal(removedSeq - 1);
    const people = await runCli(['audit', 'verify', '--key-file', oldKey, '--key-file', keyFile, tamperedFile]);
    expect(people.stdout).to.include(`seq ${removedSeq}: missing`).and.include(`seq ${editedSeq}: altered`);
  });
});
