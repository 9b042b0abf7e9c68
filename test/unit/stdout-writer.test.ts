import { expect } from 'chai';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { SyncFdWriter } from '../../src/logger.js';
import type { WriteBytes } from '../../src/logger.js';
import { makeTempDir, removeDir } from '../helpers/files.js';

/** An errno error as fs.writeSync throws it. */
function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: write`), { code });
}

describe('the stdout writer (SyncFdWriter, src/logger.ts)', () => {
  let dir: string | undefined;
  let file: string;
  let fd: number;

  beforeEach(async () => {
    dir = await makeTempDir();
    file = path.join(dir, 'out.log');
    fd = openSync(file, 'w');
  });

  afterEach(async () => {
    closeSync(fd);
    await removeDir(dir);
  });

  const written = (): Buffer => readFileSync(file);

  it('writes each text whole, as UTF-8, in order, whatever its size and characters', () => {
    const texts = [
      '{"msg":"plain"}\n',
      'é, 😀, and a lone surrogate \ud800 end\n',
      // Past the buffer it starts with (grown, then kept), and past the one it keeps (encoded apart).
      `${'ü€'.repeat(40_000)}\n`,
      `${'x😀'.repeat(200_000)}\n`,
      'after the big ones\n',
    ];
    const writer = new SyncFdWriter(fd);
    for (const text of texts) writer.write(text);
    expect(written().equals(Buffer.concat(texts.map((text) => Buffer.from(text, 'utf8'))))).to.equal(true);
  });

  it('writes the rest after a short write, until every byte is out', () => {
    const calls: number[] = [];
    const short: WriteBytes = (target, buffer, offset, length) => {
      calls.push(length);
      return writeSync(target, buffer, offset, Math.min(length, 7));
    };
    const text = 'a line of forty-two characters, and ünïcode\n';
    new SyncFdWriter(fd, short).write(text);
    expect(written().toString('utf8')).to.equal(text);
    expect(calls.length).to.equal(Math.ceil(Buffer.byteLength(text) / 7));
  });

  it('waits and tries again while a non-blocking descriptor is full (EAGAIN)', () => {
    let full = 3;
    const waits: number[] = [];
    const busy: WriteBytes = (target, buffer, offset, length) => {
      if (full > 0) {
        full -= 1;
        throw errno('EAGAIN');
      }
      return writeSync(target, buffer, offset, length);
    };
    new SyncFdWriter(fd, busy, (ms) => waits.push(ms)).write('waited for\n');
    expect(written().toString('utf8')).to.equal('waited for\n');
    expect(waits).to.deep.equal([1, 1, 1]);
  });

  it('fails a write the descriptor refused outright (EPIPE), and tries the next one', () => {
    let refuse = true;
    const once: WriteBytes = (target, buffer, offset, length) => {
      if (refuse) {
        refuse = false;
        throw errno('EPIPE');
      }
      return writeSync(target, buffer, offset, length);
    };
    const writer = new SyncFdWriter(fd, once);
    expect(() => writer.write('lost\n')).to.throw().with.property('code', 'EPIPE');
    writer.write('next\n');
    expect(written().toString('utf8')).to.equal('next\n');
  });

  it('fails every write after one that failed part-way: the next would continue a torn line', () => {
    let calls = 0;
    const tearing: WriteBytes = (target, buffer, offset) => {
      calls += 1;
      if (calls === 1) return writeSync(target, buffer, offset, 5);
      throw errno('EIO');
    };
    const writer = new SyncFdWriter(fd, tearing);
    expect(() => writer.write('torn in two\n')).to.throw().with.property('code', 'EIO');
    expect(() => writer.write('never written\n')).to.throw().with.property('code', 'EIO');
    expect(calls, 'the later write never reaches the descriptor').to.equal(2);
    expect(written().toString('utf8')).to.equal('torn ');
  });
});
