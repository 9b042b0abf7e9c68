#!/usr/bin/env node
/**
 * Apply-to-served latency on a real API server: the time from `kubectl apply` (client-side)
 * returning to /readyz of a `flex-auth serve --registry-configmap` replica showing the new
 * revision, for registries of --actors actors, --runs times (alternating variants, so each
 * apply is a new revision). Run it with an API server in KUBECONFIG, e.g. the test harness:
 *
 *   bash scripts/k8s-test-env.sh run -- node bench/scale/apply-to-served.mjs --actors 1000 --runs 11
 *
 * Prints one JSON line: every time, their median, the manifest's size and object count.
 * The replica runs as the cluster admin here: RBAC is the tests' business, not the timing's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateRegistry } from '../lib/registry-gen.mjs';
import { freePort, startPinned, stop, waitReady } from '../lib/proc.mjs';

const { values } = parseArgs({ options: { actors: { type: 'string', default: '1000' }, runs: { type: 'string', default: '11' } } });
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'dist/src/cli/index.js');
const actors = Number(values.actors);
const namespace = `flex-auth-bench-${actors}`;
const dir = mkdtempSync(path.join(tmpdir(), 'flex-auth-apply-'));

function must(command, args, input) {
  const result = spawnSync(command, args, { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

// Two variants, packed once each; their revisions alternate.
const manifests = [0, 1].map((variant) => {
  const file = path.join(dir, `${variant}.json`);
  writeFileSync(file, JSON.stringify(generateRegistry(actors, { seed: 1, variant })));
  const manifest = must(process.execPath, [CLI, 'configmap', file, '--namespace', namespace]);
  return { manifest, revision: /flex-auth\/registry-revision: (sha256:[0-9a-f]{64})/.exec(manifest)[1] };
});

must('kubectl', ['create', 'namespace', namespace]);
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = startPinned({ command: process.execPath, args: [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), '--registry-configmap', `${namespace}/flex-auth-registry`] });
const revisionNow = async () => (await (await fetch(`${base}/readyz`)).json()).revision;

try {
  const times = [];
  for (let run = 0; run <= Number(values.runs); run += 1) {
    const { manifest, revision } = manifests[run % 2];
    must('kubectl', ['apply', '-f', '-'], manifest);
    const applied = performance.now();
    if (run === 0) await waitReady(server, `${base}/readyz`);
    for (const deadline = Date.now() + 120_000; (await revisionNow()) !== revision;) {
      if (Date.now() > deadline) throw new Error(`revision ${revision} not served within 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // The first apply creates the objects and starts the replica: not counted.
    if (run > 0) times.push(performance.now() - applied);
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(JSON.stringify({
    actors, runs: times.length, median_ms: sorted[sorted.length >> 1], times_ms: times.map((t) => Math.round(t)),
    manifest_bytes: Buffer.byteLength(manifests[0].manifest), objects: manifests[0].manifest.split(/^---$/m).length,
  }));
} finally {
  await stop(server);
  spawnSync('kubectl', ['delete', 'namespace', namespace, '--wait=false']);
  rmSync(dir, { recursive: true, force: true });
}
