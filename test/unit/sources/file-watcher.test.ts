import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createLogger } from '../../../src/logger.js';
import { FileWatcher, SETTLED_MS } from '../../../src/sources/file-watcher.js';

const silent = createLogger({ level: 'silent' });

describe('the file watcher\'s re-read', () => {
  let dir: string;
  let watcher: FileWatcher | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'flex-auth-watcher-'));
  });

  afterEach(async () => {
    await watcher?.stop();
    watcher = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** A watcher whose clock runs `aheadMs` ahead of the file system's, recording what it hands on. */
  async function follow(file: string, aheadMs: number): Promise<{ reads: string[]; errors: string[] }> {
    const reads: string[] = [];
    const errors: string[] = [];
    watcher = new FileWatcher(file, { onBytes: (bytes) => reads.push(bytes.toString()), onError: (message) => errors.push(message) },
      { logger: silent, pollIntervalMs: 0, now: () => Date.now() + aheadMs });
    await watcher.start();
    return { reads, errors };
  }

  it('does not read a settled file again until it changes', async () => {
    const file = path.join(dir, 'registry.json');
    await writeFile(file, 'one');
    const { reads } = await follow(file, SETTLED_MS);
    await watcher!.refresh();
    await watcher!.refresh();
    expect(reads).to.deep.equal(['one']);
    await writeFile(file, 'two');
    await watcher!.refresh();
    await watcher!.refresh();
    expect(reads).to.deep.equal(['one', 'two']);
  });

  it('reads again a file replaced by one of the same size (a rename-save)', async () => {
    const file = path.join(dir, 'registry.json');
    await writeFile(file, 'one');
    const { reads } = await follow(file, SETTLED_MS);
    await writeFile(path.join(dir, 'next.json'), 'two');
    await rename(path.join(dir, 'next.json'), file);
    await watcher!.refresh();
    expect(reads).to.deep.equal(['one', 'two']);
  });

  it('reads a recently changed file every time, since its stamp may not show a second write yet', async () => {
    const file = path.join(dir, 'registry.json');
    await writeFile(file, 'one');
    const { reads } = await follow(file, 0);
    await watcher!.refresh();
    expect(reads).to.deep.equal(['one', 'one']);
  });

  it('reads a file again that was moved away and back (same inode, size and contents)', async () => {
    const file = path.join(dir, 'registry.json');
    await writeFile(file, 'one');
    const { reads, errors } = await follow(file, SETTLED_MS);
    const aside = path.join(dir, 'aside.json');
    await rename(file, aside);
    await watcher!.refresh();
    expect(errors).to.have.length(1);
    await rename(aside, file);
    await watcher!.refresh();
    expect(reads).to.deep.equal(['one', 'one']);
  });
});
