import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createLogger } from '../../../src/logger.js';
import { RegistryStore } from '../../../src/registry/store.js';
import { FileSource } from '../../../src/sources/file.js';
import { describeSource } from '../../../src/sources/source.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';
import { nextReload } from '../../helpers/wait.js';

const silent = createLogger({ level: 'silent' });
const docA = text(registryDocument([actorEntry('agt-a')]));
const docB = text(registryDocument([actorEntry('agt-b')]));
const docC = text(registryDocument([actorEntry('agt-c')]));

describe('the file source', () => {
  let dir: string;
  let source: FileSource | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'flex-auth-file-'));
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  function start(file: string): { store: RegistryStore; started: Promise<void> } {
    const store = new RegistryStore(describeSource({ kind: 'file', path: file }));
    source = new FileSource(file, store, { logger: silent, debounceMs: 10, pollIntervalMs: 0 });
    return { store, started: source.start() };
  }

  it('refuses to start when the directory does not exist', async () => {
    const { started } = start(path.join(dir, 'missing', 'registry.json'));
    let failure: unknown;
    await started.catch((error: unknown) => { failure = error; });
    expect(String(failure)).to.match(/registry directory .* does not exist/);
  });

  it('is not ready while the file is missing, and loads it once it appears', async () => {
    const file = path.join(dir, 'registry.json');
    const { store, started } = start(file);
    await started;
    expect(store.status().ready).to.equal(false);
    expect(store.status().last_error?.message).to.match(/ENOENT/);
    const reloaded = nextReload(store);
    await writeFile(file, docA);
    expect((await reloaded).result).to.equal('success');
    expect(store.current()?.actor('agt-a')).not.to.equal(undefined);
  });

  it('reloads on an in-place write and on a rename-save', async () => {
    const file = path.join(dir, 'registry.json');
    await writeFile(file, docA);
    const { store, started } = start(file);
    await started;

    let reloaded = nextReload(store);
    await writeFile(file, docB);
    await reloaded;
    expect(store.current()?.actor('agt-b')).not.to.equal(undefined);

    reloaded = nextReload(store);
    await writeFile(path.join(dir, '.registry.json.swp'), docC);
    await rename(path.join(dir, '.registry.json.swp'), file);
    await reloaded;
    expect(store.current()?.actor('agt-c')).not.to.equal(undefined);
  });

  it('follows a ConfigMap volume ..data symlink swap', async () => {
    await mkdir(path.join(dir, '..2026_01'));
    await writeFile(path.join(dir, '..2026_01', 'registry.json'), docA);
    await symlink('..2026_01', path.join(dir, '..data'));
    await symlink('..data/registry.json', path.join(dir, 'registry.json'));
    const { store, started } = start(path.join(dir, 'registry.json'));
    await started;
    expect(store.current()?.actor('agt-a')).not.to.equal(undefined);

    const reloaded = nextReload(store);
    await mkdir(path.join(dir, '..2026_02'));
    await writeFile(path.join(dir, '..2026_02', 'registry.json'), docB);
    await symlink('..2026_02', path.join(dir, '..data_tmp'));
    await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    await reloaded;
    expect(store.current()?.actor('agt-b')).not.to.equal(undefined);
  });

  it('is not held back by a busy neighbour in the same directory', async () => {
    const file = path.join(dir, 'registry.json');
    await writeFile(file, docA);
    const store = new RegistryStore(describeSource({ kind: 'file', path: file }));
    // A long max delay: were the neighbour's events counted, the reload would wait a minute.
    source = new FileSource(file, store, { logger: silent, debounceMs: 50, maxDelayMs: 60_000, pollIntervalMs: 0 });
    await source.start();
    let writing = true;
    const noise = (async () => {
      for (let i = 0; writing; i += 1) {
        await writeFile(path.join(dir, 'stdout.log'), `line ${i}\n`, { flag: 'a' });
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      const reloaded = nextReload(store, 5000);
      await writeFile(file, docB);
      await reloaded;
      expect(store.current()?.actor('agt-b')).not.to.equal(undefined);
    } finally {
      writing = false;
      await noise;
    }
  });

  // Small documents load at once, large ones in a worker; both get the file's bytes undecoded.
  for (const [label, offThreadBytes] of [['loaded at once', undefined], ['loaded in a worker', 1]] as const) {
    it(`refuses bytes that are not UTF-8, or a byte order mark, and keeps the registry (${label})`, async () => {
      const file = path.join(dir, 'registry.json');
      await writeFile(file, docA);
      const store = new RegistryStore(describeSource({ kind: 'file', path: file }), { offThreadBytes });
      source = new FileSource(file, store, { logger: silent, debounceMs: 10, pollIntervalMs: 0 });
      const loaded = nextReload(store);
      await source.start();
      expect((await loaded).result).to.equal('success');
      expect(store.current()?.actor('agt-a')).not.to.equal(undefined);

      // agt-b's name with one byte that is not UTF-8: replaced by U+FFFD it would be refused
      // for another reason (its pattern), so the message shows where it was refused.
      const notUtf8 = Buffer.from(docB.replace('agt-b', 'agt-b\u0000'), 'utf8');
      notUtf8[notUtf8.indexOf(0)] = 0xff;
      let failed = nextReload(store);
      await writeFile(file, notUtf8);
      expect((await failed).result).to.equal('failure');
      expect(store.status().last_error?.details).to.deep.equal([{ path: '(root)', message: 'not valid UTF-8' }]);

      failed = nextReload(store);
      await writeFile(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(docB)]));
      expect((await failed).result).to.equal('failure');
      expect(store.status().last_error?.details?.[0]?.message).to.match(/^not valid JSON/);
      expect(store.current()?.actor('agt-a')).not.to.equal(undefined);
      expect(store.current()?.actor('agt-b')).to.equal(undefined);
    });
  }

  it('keeps the registry when the file is deleted, and records that once', async () => {
    const file = path.join(dir, 'registry.json');
    await writeFile(file, docA);
    const { store, started } = start(file);
    await started;
    const failed = nextReload(store);
    await unlink(file);
    const event = await failed;
    expect(event.result).to.equal('failure');
    expect(store.status()).to.include({ ready: true });
    expect(store.current()?.actor('agt-a')).not.to.equal(undefined);
  });
});
