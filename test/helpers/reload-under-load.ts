import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, removeDir } from './files.js';
import { startServerLoggingToFile } from './flex-auth.js';
import { PRODUCTION_REGISTRY, REQUESTS_DIR } from './paths.js';
import { expectedRevision } from './revision.js';

/**
 * Checks go to a real `flex-auth serve` on loopback while its registry file is replaced again
 * and again (rename-saves), one in three times with an invalid document. Returns what was
 * seen; callers assert (the test) or print (the soak).
 */

export interface ReloadUnderLoadOptions {
  readonly durationMs: number;
  readonly concurrency: number;
  /** Time between two registry replacements. */
  readonly swapIntervalMs: number;
}

export interface ReloadUnderLoadFigures {
  readonly requests: number;
  readonly answered: number;
  /** Non-200 answers and transport errors: there must be none. */
  readonly failed: number;
  readonly validWrites: number;
  readonly invalidWrites: number;
  readonly reloadsLogged: number;
  readonly failuresLogged: number;
  readonly revisionsSeen: number;
  /** Answers naming a revision that was not valid (written) by the time of the answer. */
  readonly unexpectedRevisions: number;
  readonly decisionLines: number;
  /** Answered checks with no decision line, and request ids with more than one. */
  readonly missingLines: number;
  readonly duplicateLines: number;
  readonly exitCode: number | null;
  readonly failures: readonly string[];
}

export async function reloadUnderLoad(options: ReloadUnderLoadOptions): Promise<ReloadUnderLoadFigures> {
  const dir = await makeTempDir('flex-auth-load-');
  try {
    const base = JSON.parse(await readFile(PRODUCTION_REGISTRY, 'utf8')) as Record<string, any>;
    const registryFile = path.join(dir, 'registry.json');
    const validSince = new Map<string, number>();
    const invalidRevisions = new Set<string>();
    await writeFile(registryFile, JSON.stringify(base));
    validSince.set(expectedRevision(base), 0);

    const server = await startServerLoggingToFile(['--registry-file', registryFile], path.join(dir, 'stdout.log'));
    const bodies = await Promise.all(
      ['allow-agt-state-hub-bridge', 'allow-iam-subject', 'allow-group-member', 'deny-ttl-out-of-bounds', 'deny-unknown-actor-resource', 'deny-subject-not-allowed']
        .map((name) => readFile(path.join(REQUESTS_DIR, `${name}.json`), 'utf8')),
    );

    const deadline = Date.now() + options.durationMs;
    let validWrites = 0;
    let invalidWrites = 0;
    const writer = (async () => {
      for (let i = 1; Date.now() < deadline; i += 1) {
        let text: string;
        if (i % 3 === 0) {
          invalidWrites += 1;
          // Alternately not JSON at all, and JSON that fails validation (its would-be revision must never be served).
          const broken = { ...base, actors: [...base.actors, { name: `agt-bad-${i}`, type: 'agent', principals: [], ttl: { default: '9h', max: '1h' } }] };
          if (i % 2 === 0) invalidRevisions.add(expectedRevision(broken));
          text = i % 2 === 0 ? JSON.stringify(broken) : `{"schema":"flex-auth.registry/v1","actors":[${i}`;
        } else {
          validWrites += 1;
          const next = { ...base, actors: [...base.actors, { name: `agt-load-${i}`, type: 'agent', principals: [`agt-load-${i}`], ttl: { default: '1h', max: '2h' } }] };
          validSince.set(expectedRevision(next), Date.now());
          text = JSON.stringify(next);
        }
        await writeFile(`${registryFile}.tmp`, text);
        await rename(`${registryFile}.tmp`, registryFile);
        await new Promise((resolve) => setTimeout(resolve, options.swapIntervalMs));
      }
    })();

    const answeredIds = new Set<string>();
    const seen = new Set<string>();
    const failures: string[] = [];
    let requests = 0;
    let failed = 0;
    let unexpected = 0;
    const worker = async (id: number) => {
      for (let n = 0; Date.now() < deadline; n += 1) {
        const requestId = `load-${id}-${n}`;
        requests += 1;
        try {
          const response = await fetch(`${server.url}/v1/check`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-request-id': requestId },
            body: bodies[(id + n) % bodies.length],
            signal: AbortSignal.timeout(10_000),
          });
          const decision = (await response.json()) as { registry_revision?: string };
          if (response.status !== 200) {
            failed += 1;
            failures.push(`${requestId}: HTTP ${response.status}`);
            continue;
          }
          answeredIds.add(requestId);
          const revision = decision.registry_revision ?? '';
          seen.add(revision);
          const since = validSince.get(revision);
          if (since === undefined || since > Date.now() || invalidRevisions.has(revision)) {
            unexpected += 1;
            failures.push(`${requestId}: unexpected revision ${revision}`);
          }
        } catch (error) {
          failed += 1;
          failures.push(`${requestId}: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all([writer, ...Array.from({ length: options.concurrency }, (_, i) => worker(i))]);
    const exit = await server.stop('SIGTERM', 20_000);

    const lines = server.logLines().map((line) => line.json).filter((json): json is Record<string, any> => json !== undefined);
    const perId = new Map<string, number>();
    for (const line of lines) if (line.msg === 'decision') perId.set(line.request_id as string, (perId.get(line.request_id as string) ?? 0) + 1);
    return {
      requests,
      answered: answeredIds.size,
      failed,
      validWrites,
      invalidWrites,
      reloadsLogged: lines.filter((line) => line.msg === 'registry loaded').length,
      failuresLogged: lines.filter((line) => line.msg === 'registry reload failed; keeping the last good registry').length,
      revisionsSeen: seen.size,
      unexpectedRevisions: unexpected,
      decisionLines: [...perId.values()].reduce((a, b) => a + b, 0),
      missingLines: [...answeredIds].filter((id) => !perId.has(id)).length,
      duplicateLines: [...perId.values()].filter((count) => count > 1).length,
      exitCode: exit.code,
      failures: failures.slice(0, 20),
    };
  } finally {
    await removeDir(dir);
  }
}

/** Every check answered and logged once, no revision that was not valid, a clean exit. */
export function invariantsHold(f: ReloadUnderLoadFigures): boolean {
  return f.failed === 0 && f.unexpectedRevisions === 0 && f.missingLines === 0 && f.duplicateLines === 0 &&
    f.decisionLines === f.answered && f.exitCode === 0;
}
