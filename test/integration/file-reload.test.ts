import { expect } from 'chai';
import { mkdir, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkFor, makeRegistry } from '../helpers/documents.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { startServer, stopAll } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { getJson, postCheck } from '../helpers/http.js';
import { pollUntil } from '../helpers/poll.js';
import { expectedRevision } from '../helpers/revision.js';

const LOADED = 'registry loaded';
const FAILED = 'registry reload failed; keeping the last good registry';

let serial = 0;

/** A registry distinct from every other one in this run, with an extra actor named after it. */
function freshRegistry(label: string): { document: Record<string, any>; revision: string; actor: string } {
  serial += 1;
  const actor = `agt-${label}-${serial}`;
  const document = makeRegistry({
    name: `reload-${label}-${serial}`,
    extraActors: [
      { name: actor, type: 'agent', principals: [actor], ttl: { default: '30m', max: '2h' }, allowed_subjects: [actor] },
    ],
  });
  return { document, revision: expectedRevision(document), actor };
}

async function expectServing(server: ServerProcess, revision: string, actor: string): Promise<void> {
  const ready = await getJson(server.url, '/readyz');
  expect(ready.status, ready.text).to.equal(200);
  expect(ready.body.revision).to.equal(revision);
  const registry = await getJson(server.url, '/v1/registry');
  expect(registry.body.revision).to.equal(revision);
  const decision = await postCheck(server.url, checkFor(actor));
  expect(decision.body.allow, decision.text).to.equal(true);
  expect(decision.body.registry_revision).to.equal(revision);
}

describe('file source reload (plain directory)', function () {
  this.timeout(20_000);
  let dir: string;
  let file: string;
  let server: ServerProcess;
  let current: ReturnType<typeof freshRegistry>;

  before(async function () {
    dir = await makeTempDir();
    file = path.join(dir, 'registry.json');
    current = freshRegistry('initial');
    await writeFile(file, JSON.stringify(current.document, null, 2));
    server = await startServer(['--registry-file', file]);
  });

  after(async function () {
    await stopAll(server);
    await removeDir(dir);
  });

  /** Writes `next` with `write`, waits for its "registry loaded" line, and checks it is served. */
  async function reloadTo(next: ReturnType<typeof freshRegistry>, write: () => Promise<void>): Promise<Record<string, any>> {
    const since = server.stdout.mark();
    await write();
    const line = await server.stdout.waitForMessage(LOADED, { revision: next.revision }, { since });
    expect(line.previous_revision).to.equal(current.revision);
    expect(line.source).to.equal(`file:${file}`);
    await expectServing(server, next.revision, next.actor);
    // The actor of the replaced registry is gone: decisions really come from the new document.
    const old = await postCheck(server.url, checkFor(current.actor));
    expect(old.body.reason, old.text).to.equal('unknown_actor_resource');
    current = next;
    return line;
  }

  it('loads the file at start with the revision computed from its content', async function () {
    const line = await server.stdout.waitForMessage(LOADED, { revision: current.revision });
    expect(line.previous_revision ?? null).to.equal(null);
    await expectServing(server, current.revision, current.actor);
    const ready = await getJson(server.url, '/readyz');
    expect(ready.body.source).to.equal(`file:${file}`);
  });

  it('reloads when the file is rewritten in place', async function () {
    const next = freshRegistry('inplace');
    await reloadTo(next, () => writeFile(file, JSON.stringify(next.document, null, 2)));
  });

  it('reloads on a rename-save (temp file renamed over the registry)', async function () {
    const next = freshRegistry('rename');
    await reloadTo(next, async () => {
      const tmp = path.join(dir, '.registry.json.swp');
      await writeFile(tmp, JSON.stringify(next.document));
      await rename(tmp, file);
    });
  });

  it('keeps serving the old revision on invalid JSON, stays ready with last_error, then loads the next valid update', async function () {
    const kept = current;
    const since = server.stdout.mark();
    await writeFile(file, '{ "schema": "flex-auth.registry/v1", "actors": [ ');
    const failure = await server.stdout.waitForMessage(FAILED, {}, { since });
    expect(failure.kept_revision).to.equal(kept.revision);
    expect(server.stdout.messages(LOADED, since)).to.have.lengthOf(0);

    const ready = await getJson(server.url, '/readyz');
    expect(ready.status, ready.text).to.equal(200);
    expect(ready.body.revision).to.equal(kept.revision);
    expect(ready.body.last_error, ready.text).to.be.an('object');
    expect(ready.body.last_error.message).to.be.a('string').that.is.not.empty;
    await expectServing(server, kept.revision, kept.actor);

    const next = freshRegistry('after-bad-json');
    await reloadTo(next, () => writeFile(file, JSON.stringify(next.document)));
    const after = await getJson(server.url, '/readyz');
    expect(after.body.last_error).to.equal(null);
  });

  it('keeps serving the old revision on a schema-invalid document and reports the error paths', async function () {
    const kept = current;
    const invalid = freshRegistry('invalid').document;
    invalid.actors[0].allowed_subject = ['agt-reload']; // the typo the contract names
    invalid.actors[0].ttl = { default: '9h', max: '8h' };
    const since = server.stdout.mark();
    await writeFile(file, JSON.stringify(invalid, null, 2));
    const failure = await server.stdout.waitForMessage(FAILED, {}, { since });
    expect(failure.kept_revision).to.equal(kept.revision);
    expect(String(failure.error)).to.include('actors[0].allowed_subject');

    const ready = await getJson(server.url, '/readyz');
    expect(ready.status, ready.text).to.equal(200);
    expect(ready.body.revision).to.equal(kept.revision);
    const paths = (ready.body.last_error?.details ?? []).map((d: any) => d.path);
    expect(paths, ready.text).to.include.members(['actors[0].allowed_subject', 'actors[0].ttl.max']);
    await expectServing(server, kept.revision, kept.actor);
    expect(server.stdout.messages(LOADED, since)).to.have.lengthOf(0);

    const next = freshRegistry('after-invalid');
    await reloadTo(next, () => writeFile(file, JSON.stringify(next.document)));
  });

  it('does not reload a re-formatted file with the same content', async function () {
    const kept = current;
    const initial = await getJson(server.url, '/readyz');
    // Put the source in a failed state first, so that reading the re-formatted (valid) file is
    // observable: last_error clears, while the revision and loaded_at must stay the same.
    const since = server.stdout.mark();
    await writeFile(file, 'not json');
    await server.stdout.waitForMessage(FAILED, {}, { since });
    const reformatted = `\n\n${JSON.stringify(kept.document, null, 8).replace(/": /g, '"   :   ')}\n\n`;
    expect(reformatted).to.not.equal(JSON.stringify(kept.document, null, 2));
    expect(JSON.parse(reformatted)).to.deep.equal(kept.document);
    await writeFile(file, reformatted);
    const ready = await pollUntil(
      () => getJson(server.url, '/readyz'),
      (r) => r.body?.last_error === null,
      '/readyz last_error to clear after the re-formatted file is read',
    );
    expect(ready.status).to.equal(200);
    expect(ready.body.revision).to.equal(kept.revision);
    expect(ready.body.loaded_at).to.equal(initial.body.loaded_at);
    expect(server.stdout.messages(LOADED, since), server.stdout.tail()).to.have.lengthOf(0);

    // A real change afterwards is still picked up, and its previous revision is the kept one.
    const next = freshRegistry('after-reformat');
    await reloadTo(next, () => writeFile(file, JSON.stringify(next.document)));
    expect(server.stdout.messages(LOADED, since)).to.have.lengthOf(1);
  });

  it('keeps the last good registry while the file is deleted, and loads it when it returns', async function () {
    const kept = current;
    const since = server.stdout.mark();
    await unlink(file);
    const failure = await server.stdout.waitForMessage(FAILED, {}, { since });
    expect(failure.kept_revision).to.equal(kept.revision);
    const ready = await getJson(server.url, '/readyz');
    expect(ready.status, ready.text).to.equal(200);
    expect(ready.body.revision).to.equal(kept.revision);
    expect(ready.body.last_error, ready.text).to.be.an('object');
    await expectServing(server, kept.revision, kept.actor);

    const next = freshRegistry('restored');
    await reloadTo(next, () => writeFile(file, JSON.stringify(next.document)));
  });
});

describe('file source reload (Kubernetes ConfigMap volume layout)', function () {
  this.timeout(20_000);
  let dir: string;
  let file: string;
  let server: ServerProcess;

  /** Lays out a ConfigMap data directory `..NAME/registry.json`. */
  async function dataDir(name: string, document: unknown): Promise<void> {
    await mkdir(path.join(dir, name));
    await writeFile(path.join(dir, name, 'registry.json'), JSON.stringify(document, null, 2));
  }

  /** The kubelet's atomic update: new data dir, `..data_tmp` symlink, renamed over `..data`. */
  async function swapTo(name: string, document: unknown, previous: string): Promise<void> {
    await dataDir(name, document);
    await symlink(name, path.join(dir, '..data_tmp'));
    await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    await rm(path.join(dir, previous), { recursive: true, force: true });
  }

  let first: ReturnType<typeof freshRegistry>;

  before(async function () {
    dir = await makeTempDir();
    file = path.join(dir, 'registry.json');
    first = freshRegistry('cm-a');
    await dataDir('..2026_a', first.document);
    await symlink('..2026_a', path.join(dir, '..data'));
    await symlink(path.join('..data', 'registry.json'), file);
    server = await startServer(['--registry-file', file]);
  });

  after(async function () {
    await stopAll(server);
    await removeDir(dir);
  });

  it('loads the registry through the ..data symlink at start', async function () {
    await server.stdout.waitForMessage(LOADED, { revision: first.revision });
    await expectServing(server, first.revision, first.actor);
  });

  it('reloads when ..data is swapped to a new data directory', async function () {
    const second = freshRegistry('cm-b');
    let since = server.stdout.mark();
    await swapTo('..2026_b', second.document, '..2026_a');
    const line = await server.stdout.waitForMessage(LOADED, { revision: second.revision }, { since });
    expect(line.previous_revision).to.equal(first.revision);
    await expectServing(server, second.revision, second.actor);

    // And again, so the watch survives the first swap.
    const third = freshRegistry('cm-c');
    since = server.stdout.mark();
    await swapTo('..2026_c', third.document, '..2026_b');
    const again = await server.stdout.waitForMessage(LOADED, { revision: third.revision }, { since });
    expect(again.previous_revision).to.equal(second.revision);
    await expectServing(server, third.revision, third.actor);
  });
});
