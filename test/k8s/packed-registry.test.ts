import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parseYaml, parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import { checkFor } from '../helpers/documents.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { startServer, stopAll } from '../helpers/flex-auth.js';
import { getJson, postCheck } from '../helpers/http.js';
import { CLI, PACKAGE_ROOT } from '../helpers/paths.js';
import { pollUntil } from '../helpers/poll.js';
import { runCommand as run } from '../helpers/process.js';
import { expectedRevision } from '../helpers/revision.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { canI, kubectl, writeServiceAccountKubeconfig } from '../helpers/kube.js';

/**
 * Registries of 1,000, 10,000 and 100,000 actors (bench/lib/registry-gen.mjs) published with
 * `flex-auth configmap | kubectl apply -f -`, client-side and --server-side, against the real
 * API server, and followed by `flex-auth serve --registry-configmap` running as a
 * ServiceAccount that has deploy/'s Role: the revision served is exactly the one applied,
 * parts of two revisions are never mixed, a shrink leaves nothing that matters (and the
 * runbook's cleanup removes it), a part deleted or left stale by hand keeps the last good
 * registry, and checks are answered all through every reload.
 */

type Doc = Record<string, any>;
const CONFIGMAP = 'flex-auth-registry';
const SERVICE_ACCOUNT = 'flex-auth';
const MAX_PARTS = 64;

/** Checks sent one after another for as long as a replica runs; every answer must be a 200 decision. */
class Checker {
  readonly answers: { readonly at: number; readonly status: number }[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(url: string) {
    this.loop = (async () => {
      while (this.running) {
        const status = await postCheck(url, checkFor('agt-not-in-any-registry')).then((r) => r.status, () => 0);
        this.answers.push({ at: Date.now(), status });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
  }

  answeredBetween(from: number, to: number): number {
    return this.answers.filter((a) => a.at >= from && a.at <= to && a.status === 200).length;
  }

  failures(): number[] {
    return this.answers.filter((a) => a.status !== 200).map((a) => a.status);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

function documents(manifest: string): Doc[] {
  return parseAllDocuments(manifest).map((d) => d.toJS() as Doc);
}

describe('packed registries through the real API server and kubectl', function () {
  this.timeout(600_000);
  let dir: string;
  /** The registries, generated once for the whole suite. */
  const files = new Map<string, { file: string; revision: string }>();

  before(async () => {
    if (!process.env.KUBECONFIG) throw new Error('KUBECONFIG is not set: run `npm run test:k8s`, or point KUBECONFIG at a cluster');
    dir = await makeTempDir('flex-auth-packed-');
    const { generateRegistry } = await import(path.join(PACKAGE_ROOT, 'bench', 'lib', 'registry-gen.mjs')) as { generateRegistry: (n: number, o?: object) => Doc };
    const wanted: [string, number, number][] = [['1k', 1000, 0], ['10k', 10_000, 0], ['10k-b', 10_000, 1], ['10k-c', 10_000, 2], ['100k', 100_000, 0], ['100k-b', 100_000, 1]];
    for (const [name, actors, variant] of wanted) {
      const document = generateRegistry(actors, { seed: 1, variant });
      const file = path.join(dir, `${name}.json`);
      await writeFile(file, JSON.stringify(document));
      files.set(name, { file, revision: expectedRevision(document) });
    }
  });

  after(async () => {
    await removeDir(dir);
  });

  /** `flex-auth configmap FILE --namespace NS`, checked, with the figures the report gives. */
  async function manifestOf(name: string, namespace: string): Promise<string> {
    const result = await run(process.execPath, [CLI, 'configmap', files.get(name)!.file, '--namespace', namespace], { timeoutMs: 120_000 });
    expect(result.code, result.stderr).to.equal(0);
    return result.stdout;
  }

  function suite(mode: 'client-side' | 'server-side', namespace: string, steps: (replica: () => Replica) => void): void {
    describe(`${mode} apply, in namespace ${namespace}`, () => {
      let replica: Replica;
      before(async () => {
        replica = new Replica(namespace, mode === 'server-side' ? ['--server-side'] : []);
        await replica.setUp(dir);
      });
      after(async () => {
        await replica.tearDown();
      });

      it('the ServiceAccount may read the registry ConfigMap and its parts, and nothing else', async () => {
        const may = (...args: string[]) => canI(namespace, SERVICE_ACCOUNT, '-n', namespace, ...args);
        expect(await may('watch', `configmap/${CONFIGMAP}`)).to.equal('yes');
        expect(await may('get', `configmap/${CONFIGMAP}-part-0`)).to.equal('yes');
        expect(await may('get', `configmap/${CONFIGMAP}-part-${MAX_PARTS - 1}`)).to.equal('yes');
        expect(await may('get', `configmap/${CONFIGMAP}-part-${MAX_PARTS}`)).to.equal('no');
        expect(await may('watch', `configmap/${CONFIGMAP}-part-0`)).to.equal('no');
        expect(await may('get', 'configmap/other')).to.equal('no');
        expect(await may('list', 'configmaps')).to.equal('no');
        expect(await may('get', 'secrets')).to.equal('no');
        expect(await canI(namespace, SERVICE_ACCOUNT, '-n', 'default', 'get', `configmap/${CONFIGMAP}`)).to.equal('no');
      });

      steps(() => replica);

      it('answered every check with a decision, all through every reload', () => {
        expect(replica.checker!.failures()).to.deep.equal([]);
      });
    });
  }

  /** One replica following ConfigMap NS/flex-auth-registry as the ServiceAccount, and its checker. */
  class Replica {
    server: ServerProcess | undefined;
    checker: Checker | undefined;

    constructor(readonly namespace: string, readonly applyFlags: string[]) {}

    async setUp(tempDir: string): Promise<void> {
      const ns = this.namespace;
      await kubectl(['create', 'namespace', ns]);
      await kubectl(['-n', ns, 'create', 'serviceaccount', SERVICE_ACCOUNT]);
      // deploy/'s own Role, so the test proves what is shipped.
      const role = parseAllDocuments(await readFile(path.join(PACKAGE_ROOT, 'deploy', 'base', 'role.yaml'), 'utf8'))
        .map((d) => d.toJS() as Doc).find((d) => d.kind === 'Role')!;
      await kubectl(['-n', ns, 'apply', '-f', '-'], JSON.stringify(role));
      await kubectl(['-n', ns, 'create', 'rolebinding', role.metadata.name, `--role=${role.metadata.name}`, `--serviceaccount=${ns}:${SERVICE_ACCOUNT}`]);
      const kubeconfig = path.join(tempDir, `${ns}.kubeconfig`);
      await writeServiceAccountKubeconfig(ns, SERVICE_ACCOUNT, kubeconfig);
      this.server = await startServer(['--registry-configmap', `${ns}/${CONFIGMAP}`], { env: { KUBECONFIG: kubeconfig } });
    }

    async tearDown(): Promise<void> {
      await this.checker?.stop();
      await stopAll(this.server);
    }

    ready() {
      return getJson(this.server!.url, '/readyz');
    }

    async apply(manifest: string): Promise<void> {
      await kubectl(['apply', ...this.applyFlags, '-f', '-'], manifest);
    }

    /**
     * Applies `name`'s manifest and waits for its revision. Once a first registry is served,
     * checks go on all the time, and must be answered during every reload.
     */
    async publish(name: string): Promise<Doc[]> {
      const manifest = await manifestOf(name, this.namespace);
      const objects = documents(manifest);
      await this.apply(manifest);
      const applied = Date.now();
      const status = await this.served(files.get(name)!.revision);
      const served = Date.now();
      console.log(`      ${name}: ${Buffer.byteLength(manifest)} bytes in ${objects.length} object(s); served ${served - applied} ms after kubectl apply returned`);
      expect(status.body.last_error).to.equal(null);
      if (this.checker === undefined) {
        this.checker = new Checker(this.server!.url);
      } else {
        // A reload over within a check's round trip or two has no "during" to sample.
        if (served - applied >= 100) expect(this.checker.answeredBetween(applied, served), 'checks answered during the reload').to.be.greaterThan(0);
        expect(this.checker.failures()).to.deep.equal([]);
      }
      return objects;
    }

    served(revision: string) {
      return pollUntil(() => this.ready(), (r) => r.body?.revision === revision, `revision ${revision} in /readyz`, { timeoutMs: 180_000, intervalMs: 50 });
    }

    /** The live document, as the sync runbook reads it back for `flex-auth diff`. */
    async liveDocument(): Promise<string> {
      const listed = await kubectl(['-n', this.namespace, 'get', 'configmap', '-o', 'json']);
      const result = await run(process.execPath, [CLI, 'configmap', '--unpack', '-'], { stdin: listed, timeoutMs: 120_000 });
      expect(result.code, result.stderr).to.equal(0);
      return result.stdout;
    }

    async parts(): Promise<string[]> {
      const list = JSON.parse(await kubectl(['-n', this.namespace, 'get', 'configmaps', '-l', 'app.kubernetes.io/component=registry-part', '-o', 'json'])) as { items: Doc[] };
      return list.items.map((i) => i.metadata.name as string).sort();
    }
  }

  const partNames = (count: number) => Array.from({ length: count }, (_, i) => `${CONFIGMAP}-part-${i}`).sort();

  suite('client-side', 'flex-auth-packed-csa', (replica) => {
    it('1,000 actors: one gzip object, served at exactly its revision', async () => {
      const objects = await replica().publish('1k');
      expect(objects.map((o) => Object.keys(o.binaryData ?? {}))).to.deep.equal([['registry.json.gz']]);
      expect(await replica().liveDocument()).to.equal(await readFile(files.get('1k')!.file, 'utf8'));
    });

    it('10,000 actors: parts before the main object, served at exactly its revision', async () => {
      const objects = await replica().publish('10k');
      expect(objects.length).to.be.greaterThan(2);
      expect(objects.at(-1)!.metadata.name).to.equal(CONFIGMAP);
      expect(await replica().liveDocument()).to.equal(await readFile(files.get('10k')!.file, 'utf8'));
    });

    it('100,000 actors', async () => {
      await replica().publish('100k');
    });

    it('an update to a different 100,000 actors', async () => {
      await replica().publish('100k-b');
    });

    it('a shrink to 1,000: the parts left behind change nothing, and the cleanup deletes exactly them', async () => {
      const before = await replica().parts();
      await replica().publish('1k');
      expect(await replica().parts()).to.deep.equal(before);
      const selector = await run(process.execPath, [CLI, 'configmap', files.get('1k')!.file, '--namespace', replica().namespace, '--prune-selector']);
      await kubectl(['-n', replica().namespace, 'delete', 'configmap', '-l', selector.stdout.trim()]);
      expect(await replica().parts()).to.deep.equal([]);
      expect((await replica().ready()).body).to.include({ revision: files.get('1k')!.revision, last_error: null });
    });

    it('a part left stale by hand: keeps the last good registry, says what it waits for, then follows the fix', async () => {
      await replica().publish('10k');
      const next = documents(await manifestOf('10k-b', replica().namespace));
      // Only the main object: its index names parts that still hold the previous revision.
      await replica().apply(JSON.stringify(next.at(-1)));
      const { revision: now } = files.get('10k')!;
      const { revision: wanted } = files.get('10k-b')!;
      const waiting = await pollUntil(() => replica().ready(), (r) => /waits for part/.test(r.body?.last_error?.message ?? ''), 'the wait in /readyz', { timeoutMs: 30_000 });
      expect(waiting.status).to.equal(200);
      expect(waiting.body.revision).to.equal(now);
      expect(waiting.body.last_error.message).to.match(new RegExp(`^ConfigMap ${replica().namespace}/${CONFIGMAP} waits for part ${CONFIGMAP}-part-\\d+ of ${wanted}: it holds ${now}$`));
      await replica().apply(next.slice(0, -1).map((o) => stringifyYaml(o)).join('---\n'));
      const status = await replica().served(wanted);
      expect(status.body.last_error).to.equal(null);
    });

    it('a part deleted by hand: keeps the last good registry and says which part is missing', async () => {
      await kubectl(['-n', replica().namespace, 'delete', 'configmap', `${CONFIGMAP}-part-1`]);
      const next = documents(await manifestOf('10k-c', replica().namespace));
      await replica().apply(next.filter((o) => o.metadata.name !== `${CONFIGMAP}-part-1`).map((o) => stringifyYaml(o)).join('---\n'));
      const { revision: wanted } = files.get('10k-c')!;
      const waiting = await pollUntil(() => replica().ready(), (r) => /does not exist/.test(r.body?.last_error?.message ?? ''), 'the missing part in /readyz', { timeoutMs: 30_000 });
      expect(waiting.body.revision).to.equal(files.get('10k-b')!.revision);
      expect(waiting.body.last_error.message).to.equal(`ConfigMap ${replica().namespace}/${CONFIGMAP} waits for part ${CONFIGMAP}-part-1 of ${wanted}: it does not exist`);
      await replica().publish('10k-c');
      expect(await replica().parts()).to.deep.equal(partNames(next.length - 1));
    });
  });

  suite('server-side', 'flex-auth-packed-ssa', (replica) => {
    it('1,000 actors', async () => {
      await replica().publish('1k');
    });

    it('10,000 actors', async () => {
      await replica().publish('10k');
    });

    it('100,000 actors', async () => {
      const objects = await replica().publish('100k');
      // Each object within the 1 MiB a ConfigMap may hold, as the API server stores it.
      for (const object of objects) {
        const stored = parseYaml(await kubectl(['-n', replica().namespace, 'get', 'configmap', object.metadata.name, '-o', 'yaml'])) as Doc;
        expect(stored.binaryData ?? stored.data).to.deep.equal(object.binaryData ?? object.data);
      }
    });
  });
});
