import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { startServer, stopAll } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { PACKAGE_ROOT } from '../helpers/paths.js';
import { runCommand } from '../helpers/process.js';

/** Every ```sh block of docs/api.md that runs curl, in order. */
async function curlExamples(): Promise<string[]> {
  const doc = await readFile(path.join(PACKAGE_ROOT, 'docs', 'api.md'), 'utf8');
  return [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((block) => block.includes('curl'));
}


type Expectation = [string, RegExp, (output: string) => void];

const json = (output: string) => JSON.parse(output) as Record<string, any>;

/** What each documented example must show; every example must be claimed by exactly one. */
const EXPECTATIONS: Expectation[] = [
  ['the allow example', /X-Request-Id: doc-allow-1/, (out) => expect(json(out)).to.include({ allow: true, reason: 'allowed' })],
  ['the explain example', /explain=true/, (out) => {
    const subject = (json(out).trace as { rule: string; path?: string[] }[]).find((t) => t.rule === 'subject_allowed');
    expect(subject?.path?.at(-1)).to.equal('group:oncall#member@iam:carol');
  }],
  ['the invalid ttl example', /"ttl":"0s"/, (out) => {
    expect(json(out).error).to.include({ code: 'invalid_request' });
    expect(json(out).error.details[0].path).to.equal('context.ttl');
  }],
  ['the healthz example', /\/healthz/, (out) => expect(out).to.match(/^HTTP\/1\.1 200 OK/)],
  ['the readyz example', /\/readyz/, (out) => expect(json(out)).to.include({ ready: true, last_error: null })],
  ['the registry example', /\/v1\/registry/, (out) => expect(json(out).counts.actors).to.equal(6)],
  ['the metrics example', /\/metrics/, (out) => expect(out).to.match(/^flex_auth_decisions_total\{action="sign",allow="true",reason="allowed"\} \d+$/m)],
];

describe('the curl examples in docs/api.md', () => {
  let server: ServerProcess;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await stopAll(server);
  });

  it('are each claimed by exactly one expectation', async () => {
    for (const example of await curlExamples()) {
      const claims = EXPECTATIONS.filter(([, pattern]) => pattern.test(example)).map(([name]) => name);
      expect(claims, example).to.have.length(1);
    }
    expect(await curlExamples()).to.have.length(EXPECTATIONS.length);
  });

  it('run against a real server and show what the docs say', async () => {
    for (const example of await curlExamples()) {
      const [name, , check] = EXPECTATIONS.find(([, pattern]) => pattern.test(example))!;
      const result = await runCommand('bash', ['-euo', 'pipefail', '-c', example], { env: { FLEX_AUTH_URL: server.url }, timeoutMs: 20_000 });
      expect(result.code, `${name}: ${result.stderr}`).to.equal(0);
      try {
        check(result.stdout);
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}\n${result.stdout.slice(0, 2000)}`);
      }
    }
  });
});
