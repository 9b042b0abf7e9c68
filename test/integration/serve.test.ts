import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkFor, makeRegistry, tupleOf } from '../helpers/documents.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { startServer, startServerLoggingToFile, stopAll } from '../helpers/flex-auth.js';
import type { FileLoggedServer, ServerProcess } from '../helpers/flex-auth.js';
import { DECISION_ID, REQUEST_ID, STACK_FRAME, getJson, isErrorBody, postCheck, request } from '../helpers/http.js';
import type { HttpResult } from '../helpers/http.js';
import { PRODUCTION_REGISTRY, REQUESTS_DIR } from '../helpers/paths.js';
import { pollUntil } from '../helpers/poll.js';
import { expectedRevision } from '../helpers/revision.js';

const production = JSON.parse(readFileSync(PRODUCTION_REGISTRY, 'utf8'));
const PRODUCTION_REVISION = expectedRevision(production);
const EMBEDDED_SOURCE = 'embedded:examples/ops-warden/production_registry_snapshot.json';

/** The contract's rule order (section 3): reasons, first failure wins. */
const RULE_REASONS = [
  'unsupported_resource_type',
  'unknown_actor_resource',
  'actor_disabled',
  'action_not_allowed',
  'subject_not_allowed',
  'principal_not_allowed',
  'cert_type_not_allowed',
  'extension_not_allowed',
  'critical_option_not_allowed',
  'ttl_out_of_bounds',
];

/** The grant of an actor and request that use none of the certificate fields (contract section 14). */
function v1Grant(ttlSeconds: number, principals: string[], decisionId: string) {
  return { ttl_seconds: ttlSeconds, principals, cert_type: 'user', extensions: ['permit-pty'], critical_options: {}, key_id: decisionId };
}

function actorNamed(name: string): any {
  const actor = production.actors.find((a: any) => a.name === name);
  if (!actor) throw new Error(`fixture problem: ${name} is not in the production registry`);
  return actor;
}

function expectErrorBody(result: HttpResult, status: number, code: string): void {
  expect(result.status, result.text).to.equal(status);
  expect(result.headers.get('content-type') ?? '').to.match(/^application\/json/);
  expect(isErrorBody(result.body), `error body shape: ${result.text}`).to.equal(true);
  expect(result.body.error.code).to.equal(code);
  expect(result.text, 'no stack trace in an error body').not.to.match(STACK_FRAME);
}

describe('serve (embedded registry)', function () {
  this.timeout(20_000);
  let server: ServerProcess;

  before(async function () {
    server = await startServer();
  });

  after(async function () {
    await stopAll(server);
  });

  describe('status endpoints', function () {
    it('answers /healthz with 200', async function () {
      const result = await getJson(server.url, '/healthz');
      expect(result.status).to.equal(200);
    });

    it('is ready on /readyz with the embedded source and the revision of the production registry', async function () {
      const result = await getJson(server.url, '/readyz');
      expect(result.status, result.text).to.equal(200);
      expect(result.body.source).to.equal(EMBEDDED_SOURCE);
      expect(result.body.revision).to.equal(PRODUCTION_REVISION);
      expect(result.body.last_error).to.equal(null);
    });

    it('logs a warning that it serves the embedded registry', function () {
      const warning = server.stdout.find((line) => line.json?.level === 'warn' && String(line.json.msg).includes('embedded'));
      expect(warning, server.stdout.tail()).to.not.equal(undefined);
    });

    it('summarises the registry on /v1/registry with counts by type and never the document', async function () {
      const result = await getJson(server.url, '/v1/registry');
      expect(result.status, result.text).to.equal(200);
      const byType: Record<string, number> = {};
      for (const actor of production.actors) byType[actor.type] = (byType[actor.type] ?? 0) + 1;
      expect(byType).to.deep.equal({ agent: 3, admin: 1, automation: 2 }); // the fixture the brief describes
      expect(result.body.revision).to.equal(PRODUCTION_REVISION);
      expect(result.body.source).to.equal(EMBEDDED_SOURCE);
      expect(result.body.metadata).to.deep.equal(production.metadata);
      expect(Date.parse(result.body.loaded_at)).to.not.be.NaN;
      expect(result.body.counts.actors).to.equal(production.actors.length);
      expect(result.body.counts.relationships).to.equal(production.relationships.length);
      for (const [type, n] of Object.entries(byType)) expect(result.body.counts.actors_by_type[type], type).to.equal(n);
      for (const [type, n] of Object.entries(result.body.counts.actors_by_type)) {
        expect(n, `actors_by_type.${type}`).to.equal(byType[type] ?? 0);
      }
      expect(result.body).to.not.have.property('actors');
      expect(result.body).to.not.have.property('relationships');
      expect(result.text).to.not.include('allowed_subjects');
      expect(result.text).to.not.include('iam:carol');
    });
  });

  describe('decisions', function () {
    it('allows agt-state-hub-bridge to sign for itself for 8h with a grant of 28800 s and its principal', async function () {
      const result = await postCheck(server.url, checkFor('agt-state-hub-bridge', { ttl: '8h', principals: ['agt-state-hub-bridge'] }));
      expect(result.status, result.text).to.equal(200);
      expect(result.body.allow).to.equal(true);
      expect(result.body.reason).to.equal('allowed');
      expect(result.body.grant).to.deep.equal(v1Grant(8 * 3600, ['agt-state-hub-bridge'], result.body.decision_id));
      expect(result.body.registry_revision).to.equal(PRODUCTION_REVISION);
      expect(result.body.policy).to.equal('ssh-sign/v1');
      expect(result.body.decision_id).to.match(DECISION_ID);
      expect(result.body).to.not.have.property('trace');
    });

    it('allows the subject iam:agt-state-hub-bridge', async function () {
      const result = await postCheck(server.url, checkFor('agt-state-hub-bridge', undefined, 'iam:agt-state-hub-bridge'));
      expect(result.body.allow, result.text).to.equal(true);
      expect(result.body.reason).to.equal('allowed');
    });

    it('denies a ttl above the actor max with ttl_out_of_bounds and a message naming the max', async function () {
      const result = await postCheck(server.url, checkFor('agt-state-hub-bridge', { ttl: '999h' }));
      expect(result.status, result.text).to.equal(200);
      expect(result.body.allow).to.equal(false);
      expect(result.body.reason).to.equal('ttl_out_of_bounds');
      expect(result.body.message).to.be.a('string').and.match(/exceeds max 8h/);
      expect(result.body).to.not.have.property('grant');
      expect(result.body.decision_id).to.match(DECISION_ID);
    });

    it('denies an actor that is not in the registry with unknown_actor_resource', async function () {
      const result = await postCheck(server.url, checkFor('agt-not-registered'));
      expect(result.status, result.text).to.equal(200);
      expect(result.body.allow).to.equal(false);
      expect(result.body.reason).to.equal('unknown_actor_resource');
      expect(result.body).to.not.have.property('grant');
    });

    it('denies a ttl below the actor min with ttl_out_of_bounds', async function () {
      const result = await postCheck(server.url, checkFor('agt-state-hub-bridge', { ttl: '1m' }));
      expect(result.body.allow, result.text).to.equal(false);
      expect(result.body.reason).to.equal('ttl_out_of_bounds');
    });

    it('grants the actor default ttl and all its principals when the request has no context', async function () {
      const actor = actorNamed('adm-example');
      const result = await postCheck(server.url, checkFor('adm-example'));
      expect(result.body.allow, result.text).to.equal(true);
      expect(result.body.grant.ttl_seconds).to.equal(3600); // adm-example ttl.default is "1h"
      expect([...result.body.grant.principals].sort()).to.deep.equal([...actor.principals].sort());

      const bridge = await postCheck(server.url, checkFor('agt-state-hub-bridge'));
      expect(bridge.body.grant, bridge.text).to.deep.equal(v1Grant(3600, ['agt-state-hub-bridge'], bridge.body.decision_id));
      const backup = await postCheck(server.url, checkFor('atm-backup-daily', { principals: ['backup'] }));
      expect(backup.body.grant.ttl_seconds, backup.text).to.equal(2 * 3600); // atm-backup-daily ttl.default is "2h"
    });

    describe('examples/requests', function () {
      const files = readdirSync(REQUESTS_DIR).filter((f) => f.endsWith('.json')).sort();

      it('has both allow and deny examples', function () {
        expect(files.some((f) => f.startsWith('allow-'))).to.equal(true);
        expect(files.some((f) => f.startsWith('deny-'))).to.equal(true);
      });

      for (const file of files) {
        const expectedAllow = file.startsWith('allow-');
        const expectedReason = expectedAllow ? 'allowed' : file.replace(/^deny-/, '').replace(/\.json$/, '').replace(/-/g, '_');
        it(`decides ${file} as ${expectedReason}`, async function () {
          const body = readFileSync(path.join(REQUESTS_DIR, file), 'utf8');
          const result = await postCheck(server.url, body);
          expect(result.status, result.text).to.equal(200);
          expect(result.body.allow).to.equal(expectedAllow);
          expect(result.body.reason).to.equal(expectedReason);
          if (expectedAllow) {
            expect(result.body.grant.principals).to.be.an('array').that.is.not.empty;
            expect(result.body.grant.ttl_seconds).to.be.a('number').above(0);
          } else {
            expect(result.body).to.not.have.property('grant');
            expect(result.body.message).to.be.a('string').that.is.not.empty;
          }
        });
      }
    });
  });

  describe('explain', function () {
    it('returns all 10 rules in contract order with the nested-group path for iam:carol on atm-backup-daily', async function () {
      const result = await postCheck(server.url, checkFor('atm-backup-daily', { principals: ['backup'] }, 'iam:carol'), { query: '?explain=true' });
      expect(result.body.allow, result.text).to.equal(true);
      const trace = result.body.trace as any[];
      expect(trace.map((t) => t.reason)).to.deep.equal(RULE_REASONS);
      expect(trace.every((t) => t.result === 'pass'), JSON.stringify(trace)).to.equal(true);

      // Expected path, from the registry's own tuples: actor <- backup-operators <- oncall <- carol.
      const rel = (object: string, subject: string) =>
        production.relationships.find((r: any) => r.object === object && r.subject === subject);
      const hops = [
        rel('actor:atm-backup-daily', 'group:backup-operators#member'),
        rel('group:backup-operators', 'group:oncall#member'),
        rel('group:oncall', 'iam:carol'),
      ];
      expect(hops.every(Boolean), 'fixture has the nested groups').to.equal(true);
      const subjectRule = trace.find((t) => t.reason === 'subject_not_allowed');
      expect(subjectRule.path).to.deep.equal(hops.map(tupleOf));
    });

    it('keeps evaluating after the first failure and reports the first failure as the reason', async function () {
      const result = await postCheck(server.url, checkFor('agt-state-hub-bridge', { ttl: '999h' }, 'iam:mallory'), { query: '?explain=true' });
      expect(result.body.allow, result.text).to.equal(false);
      expect(result.body.reason).to.equal('subject_not_allowed');
      const trace = result.body.trace as any[];
      expect(trace.map((t) => t.reason)).to.deep.equal(RULE_REASONS);
      const results = Object.fromEntries(trace.map((t) => [t.reason, t.result]));
      expect(results.subject_not_allowed).to.equal('fail');
      expect(results.principal_not_allowed).to.equal('pass');
      expect(results.ttl_out_of_bounds).to.equal('fail');
    });

    it('gives the same decision with and without explain, and no trace without it', async function () {
      const body = checkFor('atm-backup-daily', { ttl: '4h' }, 'iam:alice');
      const plain = await postCheck(server.url, body);
      const explained = await postCheck(server.url, body, { query: '?explain=true' });
      expect(plain.body).to.not.have.property('trace');
      const { trace, ...rest } = explained.body;
      expect(trace).to.be.an('array').with.lengthOf(RULE_REASONS.length);
      expect(rest).to.deep.equal(plain.body);
    });
  });

  describe('decision_id', function () {
    const bridge = (context?: Record<string, unknown>) => checkFor('agt-state-hub-bridge', context);
    const idOf = async (body: unknown): Promise<string> => {
      const result = await postCheck(server.url, body);
      expect(result.status, result.text).to.equal(200);
      expect(result.body.decision_id).to.match(DECISION_ID);
      return result.body.decision_id;
    };

    it('is the same for ttl "1h" and ttl 3600', async function () {
      expect(await idOf(bridge({ ttl: '1h' }))).to.equal(await idOf(bridge({ ttl: 3600 })));
      expect(await idOf(bridge({ ttl: '1h30m' }))).to.equal(await idOf(bridge({ ttl: 5400 })));
    });

    it('is the same for a request without context and one spelling out the actor defaults', async function () {
      const actor = actorNamed('agt-state-hub-bridge');
      expect(await idOf(bridge())).to.equal(await idOf(bridge({ ttl: actor.ttl.default, principals: actor.principals })));
    });

    it('differs for a different ttl', async function () {
      expect(await idOf(bridge({ ttl: '1h' }))).to.not.equal(await idOf(bridge({ ttl: '2h' })));
    });

    it('differs for a different subject, action or actor', async function () {
      const base = await idOf(checkFor('agt-state-hub-bridge'));
      const otherSubject = await idOf(checkFor('agt-state-hub-bridge', undefined, 'iam:agt-state-hub-bridge'));
      const otherAction = await idOf({ ...checkFor('agt-state-hub-bridge'), action: 'revoke' });
      const otherActor = await idOf(checkFor('agt-inventory-collector', undefined, 'agt-state-hub-bridge'));
      expect(new Set([base, otherSubject, otherAction, otherActor]).size).to.equal(4);
    });

    it('does not change with metadata', async function () {
      const withoutMeta = await idOf(bridge({ ttl: '1h' }));
      const emptyMeta = await idOf(bridge({ ttl: '1h', metadata: {} }));
      const withMeta = await idOf(bridge({ ttl: '1h', metadata: { ticket: 'OPS-1', host: 'bastion-1' } }));
      expect(emptyMeta).to.equal(withoutMeta);
      expect(withMeta).to.equal(withoutMeta);
    });

    it('is the same for principals in another order or repeated', async function () {
      const a = await idOf(checkFor('adm-example', { principals: ['adm-example', 'ops-admin'] }));
      const b = await idOf(checkFor('adm-example', { principals: ['ops-admin', 'adm-example', 'ops-admin'] }));
      const c = await idOf(checkFor('adm-example', { principals: ['ops-admin'] }));
      expect(b).to.equal(a);
      expect(c).to.not.equal(a);
    });
  });

  describe('X-Request-Id and the decision log', function () {
    async function checkWithRequestId(id: string | undefined, context?: Record<string, unknown>) {
      const headers: Record<string, string> = id === undefined ? {} : { 'X-Request-Id': id };
      const since = server.stdout.mark();
      const result = await postCheck(server.url, checkFor('agt-state-hub-bridge', context), { headers });
      const returned = result.headers.get('x-request-id');
      // The line is written before the response is sent; reading the child's pipe may lag a
      // moment behind the socket, so wait for it (bounded) rather than assume.
      const line = await server.stdout.waitForMessage('decision', { request_id: returned }, { since, timeoutMs: 5000 });
      return { result, returned, line };
    }

    it('echoes a valid X-Request-Id and logs the decision with it', async function () {
      const { result, returned, line } = await checkWithRequestId('abc-123');
      expect(returned).to.equal('abc-123');
      expect(line.decision_id).to.equal(result.body.decision_id);
      expect(line.allow).to.equal(result.body.allow);
      expect(line.reason).to.equal(result.body.reason);
      expect(line.registry_revision).to.equal(PRODUCTION_REVISION);
      expect(line.subject).to.equal('agt-state-hub-bridge');
      expect(line.action).to.equal('sign');
      expect(JSON.stringify(line.resource)).to.include('agt-state-hub-bridge');
      expect(line.duration_ms).to.be.a('number').at.least(0);
      expect(Date.parse(line.time)).to.not.be.NaN;
    });

    it('replaces an X-Request-Id that contains a space', async function () {
      const { returned, line } = await checkWithRequestId('abc 123');
      expect(returned).to.match(REQUEST_ID).and.not.equal('abc 123');
      expect(line.request_id).to.equal(returned);
    });

    it('replaces an X-Request-Id of 200 characters', async function () {
      const long = 'a'.repeat(200);
      const { returned, line } = await checkWithRequestId(long);
      expect(returned).to.match(REQUEST_ID).and.not.equal(long);
      expect(line.request_id).to.equal(returned);
    });

    it('accepts an X-Request-Id of exactly 128 allowed characters', async function () {
      const id = `Aa0._:-${'x'.repeat(121)}`;
      expect(id).to.have.lengthOf(128);
      const { returned } = await checkWithRequestId(id);
      expect(returned).to.equal(id);
    });

    it('generates a distinct request id when none is given', async function () {
      const first = await checkWithRequestId(undefined);
      const second = await checkWithRequestId(undefined);
      expect(first.returned).to.match(REQUEST_ID);
      expect(second.returned).to.match(REQUEST_ID);
      expect(first.returned).to.not.equal(second.returned);
      expect(first.result.body.decision_id).to.equal(second.result.body.decision_id);
    });

    it('logs metadata by key names only, never its values', async function () {
      const secret = 'S3CRET-VALUE-do-not-log';
      const { line } = await checkWithRequestId('meta-check-1', { metadata: { ticket: secret } });
      const raw = server.stdout.find((l) => l.json?.request_id === 'meta-check-1')!.raw;
      expect(raw).to.not.include(secret);
      expect(JSON.stringify(line)).to.not.include(secret);
    });
  });

  describe('errors', function () {
    const valid = () => checkFor('agt-state-hub-bridge', { ttl: '1h' }) as Record<string, any>;

    it('rejects an unknown top-level key with 400 invalid_request and its path', async function () {
      const result = await postCheck(server.url, { ...valid(), extra: true });
      expectErrorBody(result, 400, 'invalid_request');
      expect(result.body.error.details.map((d: any) => d.path)).to.include('extra');
    });

    it('rejects an unknown context key with 400 and the path context.<key>', async function () {
      const body = valid();
      body.context.principal = ['agt-state-hub-bridge'];
      const result = await postCheck(server.url, body);
      expectErrorBody(result, 400, 'invalid_request');
      expect(result.body.error.details.map((d: any) => d.path)).to.include('context.principal');
    });

    it('rejects a wrong type with 400 and the path of the field', async function () {
      const result = await postCheck(server.url, { ...valid(), subject: { id: 42 } });
      expectErrorBody(result, 400, 'invalid_request');
      expect(result.body.error.details.map((d: any) => d.path)).to.include('subject.id');
    });

    for (const ttl of ['0', 0, -5, 1.5, '5x', '', '1.5h', '-1h', '1d']) {
      it(`rejects ttl ${JSON.stringify(ttl)} with 400 at context.ttl`, async function () {
        const body = valid();
        body.context.ttl = ttl;
        const result = await postCheck(server.url, body);
        expectErrorBody(result, 400, 'invalid_request');
        expect(result.body.error.details.map((d: any) => d.path)).to.include('context.ttl');
      });
    }

    it('rejects an empty principals list with 400 at context.principals', async function () {
      const body = valid();
      body.context.principals = [];
      const result = await postCheck(server.url, body);
      expectErrorBody(result, 400, 'invalid_request');
      expect(result.body.error.details.map((d: any) => d.path)).to.include('context.principals');
    });

    it('reports several problems at once', async function () {
      const body = valid();
      body.context.ttl = '5x';
      body.extra = 1;
      const result = await postCheck(server.url, body);
      expectErrorBody(result, 400, 'invalid_request');
      const paths = result.body.error.details.map((d: any) => d.path);
      expect(paths).to.include.members(['context.ttl', 'extra']);
    });

    it('rejects a body that is not JSON with 400 invalid_request', async function () {
      const result = await postCheck(server.url, '{"subject": ');
      expectErrorBody(result, 400, 'invalid_request');
    });

    it('rejects a JSON body that is not an object with 400', async function () {
      for (const body of ['[]', 'null', '"x"', '42']) {
        const result = await postCheck(server.url, body);
        expectErrorBody(result, 400, 'invalid_request');
      }
    });

    it('rejects a body over 64 KiB with 413 payload_too_large', async function () {
      const body = valid();
      body.context.metadata = { pad: 'x'.repeat(64 * 1024) };
      const text = JSON.stringify(body);
      expect(Buffer.byteLength(text)).to.be.above(64 * 1024);
      const result = await postCheck(server.url, text);
      expectErrorBody(result, 413, 'payload_too_large');
    });

    it('accepts a body just under 64 KiB', async function () {
      const body = valid();
      body.context.metadata = { pad: '' };
      const overhead = Buffer.byteLength(JSON.stringify(body));
      body.context.metadata.pad = 'x'.repeat(64 * 1024 - overhead - 10);
      const result = await postCheck(server.url, body);
      expect(result.status, result.text.slice(0, 300)).to.equal(200);
      expect(result.body.allow).to.equal(true);
    });

    it('rejects a body without Content-Type application/json with 415', async function () {
      const text = JSON.stringify(valid());
      const plain = await request(`${server.url}/v1/check`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: text });
      expectErrorBody(plain, 415, 'unsupported_media_type');
      const form = await request(`${server.url}/v1/check`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: text,
      });
      expectErrorBody(form, 415, 'unsupported_media_type');
    });

    it('accepts application/json with a charset parameter', async function () {
      const result = await postCheck(server.url, valid(), { headers: { 'Content-Type': 'application/json; charset=utf-8' } });
      expect(result.status, result.text).to.equal(200);
    });

    it('answers an unknown route with 404 in the error shape', async function () {
      expectErrorBody(await getJson(server.url, '/v1/nope'), 404, 'not_found');
      expectErrorBody(await request(`${server.url}/v1/check/extra`, { method: 'POST' }), 404, 'not_found');
    });

    it('answers GET /v1/check with 405 and an Allow header listing POST', async function () {
      const result = await getJson(server.url, '/v1/check');
      expectErrorBody(result, 405, 'method_not_allowed');
      expect(result.headers.get('allow') ?? '').to.match(/\bPOST\b/);
    });

    it('rejects an explain value other than true or false with 400', async function () {
      const result = await postCheck(server.url, valid(), { query: '?explain=yes' });
      expectErrorBody(result, 400, 'invalid_request');
    });

    it('never writes a decision line for a rejected request', async function () {
      const since = server.stdout.mark();
      const result = await postCheck(server.url, { ...valid(), extra: true }, { headers: { 'X-Request-Id': 'bad-request-no-decision' } });
      expect(result.status).to.equal(400);
      // A later good request's line proves the log has caught up past the bad one.
      await postCheck(server.url, valid(), { headers: { 'X-Request-Id': 'after-bad-request' } });
      await server.stdout.waitForMessage('decision', { request_id: 'after-bad-request' }, { since });
      expect(server.stdout.messages('decision', since).map((l) => l.request_id)).to.not.include('bad-request-no-decision');
    });
  });
});

describe('serve fails closed without a valid registry', function () {
  this.timeout(20_000);
  let dir: string;
  let server: ServerProcess;
  let file: string;

  before(async function () {
    dir = await makeTempDir();
    file = path.join(dir, 'registry.json');
    server = await startServer(['--registry-file', file]);
  });

  after(async function () {
    await stopAll(server);
    await removeDir(dir);
  });

  it('is alive but not ready while the registry file is missing, with last_error set', async function () {
    expect((await getJson(server.url, '/healthz')).status).to.equal(200);
    const ready = await getJson(server.url, '/readyz');
    expect(ready.status, ready.text).to.equal(503);
    expect(ready.body.source).to.equal(`file:${file}`);
    expect(ready.body.revision).to.equal(null);
    expect(ready.body.last_error, ready.text).to.be.an('object');
    expect(ready.body.last_error.message).to.be.a('string').that.is.not.empty;
  });

  it('answers a well-formed check with 503 registry_unavailable, and logs it as a decision', async function () {
    const since = server.stdout.mark();
    const result = await postCheck(server.url, checkFor('agt-state-hub-bridge'), { headers: { 'X-Request-Id': 'unavailable-1' } });
    expect(result.status, result.text).to.equal(503);
    expect(result.body.allow).to.equal(false);
    expect(result.body.reason).to.equal('registry_unavailable');
    expect(result.body.message).to.be.a('string').that.is.not.empty;
    expect(result.body).to.not.have.property('grant');
    expect(result.text).to.not.match(STACK_FRAME);
    const line = await server.stdout.waitForMessage('decision', { request_id: 'unavailable-1' }, { since, timeoutMs: 5000 });
    expect(line.allow).to.equal(false);
    expect(line.reason).to.equal('registry_unavailable');
  });

  it('still answers a malformed check with 400 while unavailable', async function () {
    const result = await postCheck(server.url, { ...checkFor('agt-state-hub-bridge'), extra: 1 });
    expectErrorBody(result, 400, 'invalid_request');
    const bad = await postCheck(server.url, '{');
    expectErrorBody(bad, 400, 'invalid_request');
    const media = await request(`${server.url}/v1/check`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' });
    expectErrorBody(media, 415, 'unsupported_media_type');
  });

  it('answers /v1/registry with 503 in the error shape and no stack trace', async function () {
    const result = await getJson(server.url, '/v1/registry');
    expectErrorBody(result, 503, 'registry_unavailable');
  });

  it('becomes ready without a restart once a valid registry file appears', async function () {
    const document = makeRegistry({ name: 'appears-later' });
    const since = server.stdout.mark();
    await writeFile(file, JSON.stringify(document, null, 2));
    const revision = expectedRevision(document);
    await server.stdout.waitForMessage('registry loaded', { revision }, { since });
    const ready = await pollUntil(() => getJson(server.url, '/readyz'), (r) => r.status === 200, '/readyz 200');
    expect(ready.body.revision).to.equal(revision);
    expect(ready.body.last_error).to.equal(null);
    const result = await postCheck(server.url, checkFor('agt-reload'));
    expect(result.status, result.text).to.equal(200);
    expect(result.body.allow).to.equal(true);
    expect(result.body.registry_revision).to.equal(revision);
  });
});

describe('serve configuration and shutdown', function () {
  this.timeout(20_000);
  let dir: string;
  let server: ServerProcess | undefined;
  let fileLogged: FileLoggedServer | undefined;

  before(async function () {
    dir = await makeTempDir();
  });

  afterEach(async function () {
    await stopAll(server);
    await fileLogged?.stop();
    server = undefined;
    fileLogged = undefined;
  });

  after(async function () {
    await removeDir(dir);
  });

  it('takes settings from FLEX_AUTH_* variables, and flags win over them', async function () {
    const fromEnv = path.join(dir, 'env.json');
    const fromFlag = path.join(dir, 'flag.json');
    const envDoc = makeRegistry({ name: 'from-env' });
    const flagDoc = makeRegistry({ name: 'from-flag' });
    await writeFile(fromEnv, JSON.stringify(envDoc));
    await writeFile(fromFlag, JSON.stringify(flagDoc));

    server = await startServer([], {
      hostPortFlags: false,
      env: { FLEX_AUTH_HOST: '127.0.0.1', FLEX_AUTH_PORT: '0', FLEX_AUTH_REGISTRY_FILE: fromEnv },
    });
    const envReady = await getJson(server.url, '/readyz');
    expect(envReady.body.source).to.equal(`file:${fromEnv}`);
    expect(envReady.body.revision).to.equal(expectedRevision(envDoc));
    await server.stop();

    server = await startServer(['--registry-file', fromFlag], { env: { FLEX_AUTH_REGISTRY_FILE: fromEnv } });
    const flagReady = await getJson(server.url, '/readyz');
    expect(flagReady.body.source).to.equal(`file:${fromFlag}`);
    expect(flagReady.body.revision).to.equal(expectedRevision(flagDoc));
  });

  it('has written the decision line to stdout by the time the response arrives', async function () {
    // stdout is a plain file here, so there is no pipe for the line to linger in: it must be
    // in the file already when the response is read, with no waiting at all.
    const logFile = path.join(dir, 'stdout.log');
    fileLogged = await startServerLoggingToFile([], logFile);
    for (let i = 0; i < 5; i += 1) {
      const id = `written-before-reply-${i}`;
      const result = await postCheck(fileLogged.url, checkFor('agt-state-hub-bridge', { ttl: `${i + 1}h` }), { headers: { 'X-Request-Id': id } });
      const lines = fileLogged.logLines().filter((line) => line.json?.msg === 'decision' && line.json.request_id === id);
      expect(lines, `decision line for ${id} at response time`).to.have.lengthOf(1);
      expect(lines[0]!.json!.decision_id).to.equal(result.body.decision_id);
    }
  });

  it('exits with code 0 and logs "stopped" promptly on SIGTERM, even with an idle keep-alive connection', async function () {
    server = await startServer();
    const check = await postCheck(server.url, checkFor('agt-state-hub-bridge'));
    expect(check.status).to.equal(200);
    const started = Date.now();
    const status = await server.stop('SIGTERM', 8000);
    const elapsed = Date.now() - started;
    expect(status, server.stdout.tail()).to.deep.equal({ code: 0, signal: null });
    expect(elapsed, 'shutdown time in ms').to.be.below(5000);
    expect(server.stdout.messages('stopped'), server.stdout.tail()).to.have.lengthOf(1);
    expect(server.stderr.lines.map((l) => l.raw).join('\n')).to.not.match(STACK_FRAME);
  });
});
