/**
 * AuthZEN Authorization API 1.0 conformance, over a real `flex-auth serve` on 127.0.0.1.
 * Written from the specification (api/authorization-api-1_0.md) and its certification
 * scenario (certification/authorization-api-1_0-scenario.md, cited as c-N-N), with the
 * scenario's fixture translated to flex-auth's domain: subjects are registry subject ids of
 * type `identity`, resources are `ssh_actor`s, actions are an actor's actions. Expected
 * results come from the registry document below, never from the code under test.
 */
import { writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import path from 'node:path';
import { expect } from 'chai';
import { allPages, EVALUATION, EVALUATIONS, isDecision, isSearchAnswer, METADATA, postAuthzen, SEARCH_ACTION, SEARCH_RESOURCE, SEARCH_SUBJECT } from '../helpers/authzen.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { startServer, stopAll } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { DECISION_ID, getJson, isErrorBody, postCheck, request } from '../helpers/http.js';
import { pollUntil } from '../helpers/poll.js';

const BIG = Array.from({ length: 25 }, (_, i) => `iam:u${String(i).padStart(2, '0')}`);

const registry = {
  schema: 'flex-auth.registry/v1',
  actors: [
    { name: 'agt-a', type: 'agent', principals: ['agt-a'], ttl: { default: '1h', min: '5m', max: '8h' }, allowed_subjects: ['agt-a', 'iam:agt-a'] },
    { name: 'atm-backup', type: 'automation', actions: ['sign', 'revoke'], principals: ['atm-backup', 'backup'], ttl: { default: '2h', max: '8h' } },
    { name: 'agt-off', type: 'agent', principals: ['agt-off'], ttl: { default: '1h', max: '8h' }, allowed_subjects: ['iam:alice'], disabled: true },
    { name: 'atm-many', type: 'automation', principals: ['atm-many'], ttl: { default: '1h', max: '8h' }, allowed_subjects: ['iam:zed'] },
  ],
  relationships: [
    { object: 'group:backup-operators', relation: 'member', subject: 'iam:alice' },
    { object: 'group:backup-operators', relation: 'member', subject: 'group:oncall#member' },
    { object: 'group:oncall', relation: 'member', subject: 'iam:carol' },
    { object: 'actor:atm-backup', relation: 'signer', subject: 'group:backup-operators#member' },
    ...BIG.map((subject) => ({ object: 'group:big', relation: 'member', subject })),
    { object: 'actor:atm-many', relation: 'signer', subject: 'group:big#member' },
  ],
};

const alice = { type: 'identity', id: 'iam:alice' };
const carol = { type: 'identity', id: 'iam:carol' };
const backup = { type: 'ssh_actor', id: 'atm-backup' };
const sign = { name: 'sign' };
/** The scenario's permit (rule 1) and deny (rule 4) pair, in flex-auth's terms. */
const permit = { subject: alice, action: sign, resource: backup };
const deny = { subject: carol, action: sign, resource: { type: 'ssh_actor', id: 'agt-a' } };

/** GET the metadata with a Host header of our choosing (fetch does not let a caller set Host). */
function getWithHost(port: number, host: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: METADATA, headers: { ...headers, Host: host } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    }).on('error', reject);
  });
}

describe('AuthZEN 1.0 conformance (real flex-auth serve)', function () {
  let dir: string;
  let file: string;
  let server: ServerProcess;

  before(async function () {
    dir = await makeTempDir('flex-auth-authzen-');
    file = path.join(dir, 'registry.json');
    await writeFile(file, JSON.stringify(registry));
    server = await startServer(['--registry-file', file]);
  });

  after(async function () {
    await stopAll(server);
    await removeDir(dir);
  });

  const post = (route: string, body: unknown, headers: Record<string, string> = {}) => postAuthzen(server.url, route, body, headers);

  describe('Access Evaluation API (c-2)', function () {
    it('answers a permitted request with HTTP 200, application/json and "decision": true (c-2-2-1, c-5)', async function () {
      const result = await post(EVALUATION, permit);
      expect(result.status, result.text).to.equal(200);
      expect(result.headers.get('content-type')).to.match(/^application\/json/);
      expect(isDecision(result.body), result.text).to.equal(true);
      expect(result.body.decision).to.equal(true);
      expect(result.body.context.reason).to.equal('allowed');
      expect(result.body.context.decision_id).to.match(DECISION_ID);
      expect(result.body.context.grant).to.deep.equal({
        ttl_seconds: 7200, principals: ['atm-backup', 'backup'], cert_type: 'user', extensions: ['permit-pty'], critical_options: {},
        key_id: result.body.context.decision_id,
      });
    });

    it('answers a denied request with HTTP 200 and "decision": false, the reason and an admin message (c-2-2-2)', async function () {
      const result = await post(EVALUATION, deny);
      expect(result.status, result.text).to.equal(200);
      expect(result.body.decision).to.equal(false);
      expect(result.body.context.reason).to.equal('subject_not_allowed');
      expect(result.body.context.reason_admin.en).to.be.a('string').and.not.empty;
      expect(result.body.context).to.not.have.property('grant');
    });

    it('accepts the optional context without changing the decision (c-2-2-3)', async function () {
      const result = await post(EVALUATION, { ...permit, context: { time: '2025-06-27T18:03-07:00', ip: '192.168.1.1' } });
      expect(result.status, result.text).to.equal(200);
      expect(result.body.decision).to.equal(true);
    });

    it('accepts entity properties it does not use, and says so in context.warnings (c-2-2-8)', async function () {
      const result = await post(EVALUATION, {
        subject: { ...alice, properties: { department: 'Sales', role: 'manager' } },
        action: { name: 'sign', properties: { method: 'GET' } },
        resource: { ...backup, properties: { status: 'active', owner: 'bob' } },
      });
      expect(result.status, result.text).to.equal(200);
      expect(result.body.decision).to.equal(true);
      const warnings = result.body.context.warnings as string[];
      expect(warnings.some((w) => w.includes('action.properties.method'))).to.equal(true);
      expect(warnings.some((w) => w.startsWith('subject.properties'))).to.equal(true);
      expect(warnings.some((w) => w.startsWith('resource.properties'))).to.equal(true);
    });

    it('warns of another subject type without writing the type itself to the answer or the decision log', async function () {
      const type = 'db_password=not-a-real-secret';
      const result = await post(EVALUATION, { ...permit, subject: { type, id: alice.id } }, { 'X-Request-ID': 'other-subject-type' });
      expect(result.status, result.text).to.equal(200);
      expect(result.body.context.warnings).to.include('subject.type is not "identity"; subject ids are untyped and the decision uses subject.id only');
      expect(result.text).not.to.include(type);
      const line = await server.stdout.waitForMessage('decision', { request_id: 'other-subject-type' }, { timeoutMs: 5000 });
      expect(line.warnings).to.have.length(1);
      expect(JSON.stringify(line)).not.to.include(type);
    });

    it('ignores unknown fields in the body (c-2-2-9)', async function () {
      const result = await post(EVALUATION, { ...permit, foo: 'bar', futureField: { nested: true } });
      expect(result.status, result.text).to.equal(200);
      expect(result.body.decision).to.equal(true);
    });

    it('evaluates action.properties ttl and principals as the check does, strictly', async function () {
      const within = await post(EVALUATION, { ...permit, action: { name: 'sign', properties: { ttl: '30m', principals: ['backup'] } } });
      expect(within.body.context.grant, within.text).to.deep.include({ ttl_seconds: 1800, principals: ['backup'] });
      const tooLong = await post(EVALUATION, { ...permit, action: { name: 'sign', properties: { ttl: '9h' } } });
      expect(tooLong.body.decision).to.equal(false);
      expect(tooLong.body.context.reason).to.equal('ttl_out_of_bounds');
      const foreign = await post(EVALUATION, { ...permit, action: { name: 'sign', properties: { principals: ['root'] } } });
      expect(foreign.body.context.reason).to.equal('principal_not_allowed');
      for (const ttl of ['1.5h', '0s', -1, 'forever', '']) {
        const bad = await post(EVALUATION, { ...permit, action: { name: 'sign', properties: { ttl } } });
        expect(bad.status, `ttl ${JSON.stringify(ttl)}: ${bad.text}`).to.equal(400);
        expect(bad.body.error.details.map((d: any) => d.path)).to.include('action.properties.ttl');
      }
    });

    it('names a misspelt property in context.warnings and decides as if it were absent', async function () {
      const typo = await post(EVALUATION, { ...permit, action: { name: 'sign', properties: { principles: ['root'] } } });
      expect(typo.status, typo.text).to.equal(200);
      expect(typo.body.context.warnings.join('\n')).to.include('action.properties.principles');
      // Absent principals mean all of the actor's: the typo'd ['root'] had no effect.
      expect(typo.body.context.grant.principals).to.deep.equal(['atm-backup', 'backup']);
    });

    it('shows the trace and the warnings with ?explain=true', async function () {
      const result = await post(`${EVALUATION}?explain=true`, { ...permit, action: { name: 'sign', properties: { principles: [] } } });
      expect(result.body.context.trace, result.text).to.be.an('array').that.is.not.empty;
      expect(result.body.context.warnings.join('\n')).to.include('principles');
    });

    it('answers a missing subject, action or resource with 400 (c-2-4-1)', async function () {
      for (const key of ['subject', 'action', 'resource'] as const) {
        const body: Record<string, unknown> = { ...permit };
        delete body[key];
        const result = await post(EVALUATION, body);
        expect(result.status, `${key}: ${result.text}`).to.equal(400);
        expect(isErrorBody(result.body), result.text).to.equal(true);
      }
    });

    it('answers a missing required sub-field with 400 (c-2-4-2)', async function () {
      const cases = [
        { ...permit, subject: { id: 'iam:alice' } },
        { ...permit, subject: { type: 'identity' } },
        { ...permit, action: {} },
        { ...permit, resource: { id: 'atm-backup' } },
        { ...permit, resource: { type: 'ssh_actor' } },
      ];
      for (const body of cases) {
        const result = await post(EVALUATION, body);
        expect(result.status, `${JSON.stringify(body)}: ${result.text}`).to.equal(400);
      }
    });

    it('answers a body that is not application/json, not JSON, or empty with 400 (c-2-4-3, c-2-4-4, c-2-4-5)', async function () {
      const plain = await request(`${server.url}${EVALUATION}`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify(permit) });
      expect(plain.status, plain.text).to.equal(400);
      expect((await post(EVALUATION, '{"subject": ')).status).to.equal(400);
      expect((await post(EVALUATION, '')).status).to.equal(400);
      expect((await post(EVALUATION, '[]')).status).to.equal(400);
    });

    it('answers fields of the wrong type with 400 (c-2-4-6)', async function () {
      expect((await post(EVALUATION, { ...permit, subject: 'iam:alice' })).status).to.equal(400);
      expect((await post(EVALUATION, { ...permit, action: { name: 123 } })).status).to.equal(400);
      expect((await post(EVALUATION, { ...permit, action: { name: 'sign', properties: 'ttl=1h' } })).status).to.equal(400);
      expect((await post(EVALUATION, { ...permit, context: ['x'] })).status).to.equal(400);
    });

    it('echoes X-Request-ID, and answers without one (c-2-5-1, c-2-5-2)', async function () {
      const id = 'bfe9eb29-ab87-4ca3-be83-a1d5d8305716';
      const echoed = await post(EVALUATION, permit, { 'X-Request-ID': id });
      expect(echoed.headers.get('x-request-id')).to.equal(id);
      const error = await post(EVALUATION, {}, { 'X-Request-ID': id });
      expect(error.status).to.equal(400);
      expect(error.headers.get('x-request-id')).to.equal(id);
      const without = await post(EVALUATION, permit);
      expect(without.status).to.equal(200);
      expect(without.headers.get('x-request-id')).to.be.a('string').and.not.empty;
    });

    it('gives the same decision and decision id on repeat (c-2-6)', async function () {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await post(EVALUATION, permit));
      expect(new Set(answers.map((a) => a.body.decision))).to.deep.equal(new Set([true]));
      expect(new Set(answers.map((a) => a.body.context.decision_id)).size).to.equal(1);
    });

    it('decides, logs and counts exactly as the equivalent /v1/check', async function () {
      const metricsBefore = (await getJson(server.url, '/metrics')).text;
      const counted = (text: string) => Number(/flex_auth_decisions_total\{action="sign",allow="false",reason="ttl_out_of_bounds"\} (\d+)/.exec(text)?.[1] ?? 0);
      const mark = server.stdout.mark();
      const viaAuthzen = await post(EVALUATION, { subject: alice, action: { name: 'sign', properties: { ttl: '9h', principals: ['backup'] } }, resource: backup, context: { ticket: 'OPS-1' } }, { 'X-Request-ID': 'same-1' });
      const viaCheck = await postCheck(server.url, { subject: { id: 'iam:alice' }, action: 'sign', resource: { type: 'ssh_actor', id: 'atm-backup' }, context: { ttl: '9h', principals: ['backup'], metadata: { ticket: 'OPS-1' } } }, { headers: { 'X-Request-ID': 'same-1' } });
      expect(viaAuthzen.body.decision).to.equal(viaCheck.body.allow);
      expect(viaAuthzen.body.context.reason).to.equal(viaCheck.body.reason);
      expect(viaAuthzen.body.context.reason_admin.en).to.equal(viaCheck.body.message);
      expect(viaAuthzen.body.context.decision_id).to.equal(viaCheck.body.decision_id);
      expect(viaAuthzen.body.context.registry_revision).to.equal(viaCheck.body.registry_revision);

      const lines = await pollUntil(async () => server.stdout.messages('decision', mark), (found) => found.length >= 2, 'two decision lines');
      // Each line has its own place in the chain.
      const comparable = ({ time: _t, duration_ms: _d, seq: _s, chain: _c, ...rest }: Record<string, any>) => rest;
      expect(comparable(lines[0]!)).to.deep.equal(comparable(lines[1]!));
      expect(counted((await getJson(server.url, '/metrics')).text) - counted(metricsBefore)).to.equal(2);
    });

    it('is refused with 405 for GET, as every POST route is', async function () {
      const result = await getJson(server.url, EVALUATION);
      expect(result.status).to.equal(405);
      expect(result.headers.get('allow')).to.equal('POST');
    });
  });

  describe('Access Evaluations API (c-3)', function () {
    it('answers each item in request order, with defaults from the top level (c-3-2-1, c-3-2-2, c-3-3)', async function () {
      const result = await post(EVALUATIONS, {
        subject: alice,
        resource: backup,
        evaluations: [{ action: { name: 'sign' } }, { action: { name: 'delete' } }, { action: { name: 'revoke' } }],
      });
      expect(result.status, result.text).to.equal(200);
      expect(result.body).to.not.have.property('decision'); // c-3-3-4: omitted when evaluations is present
      expect(result.body.evaluations).to.have.length(3);
      expect(result.body.evaluations.every(isDecision)).to.equal(true);
      expect(result.body.evaluations.map((e: any) => e.decision)).to.deep.equal([true, false, true]);
      expect(result.body.evaluations[1].context.reason).to.equal('action_not_allowed');
    });

    it('takes fully specified items without defaults (c-3-2-5)', async function () {
      const result = await post(EVALUATIONS, { evaluations: [permit, deny] });
      expect(result.body.evaluations.map((e: any) => e.decision), result.text).to.deep.equal([true, false]);
    });

    it('accepts a top-level context and per-item context overrides (c-3-2-6)', async function () {
      const result = await post(EVALUATIONS, {
        subject: alice, action: sign, context: { time: '2025-06-27T18:03-07:00' },
        evaluations: [{ resource: backup }, { resource: { type: 'ssh_actor', id: 'agt-a' }, context: { source: 'batch-override' } }],
      });
      expect(result.status, result.text).to.equal(200);
      expect(result.body.evaluations).to.have.length(2);
    });

    it('replaces a default entity whole, never merging its fields (c-3-2-7)', async function () {
      const result = await post(EVALUATIONS, {
        subject: alice,
        action: { name: 'sign', properties: { ttl: '30m' } },
        resource: backup,
        evaluations: [{}, { action: { name: 'sign' } }],
      });
      const [inherited, replaced] = result.body.evaluations;
      expect(inherited.context.grant.ttl_seconds, result.text).to.equal(1800);
      // The item's action has no properties: the actor's default ttl (2h), not the default action's 30m.
      expect(replaced.context.grant.ttl_seconds).to.equal(7200);
    });

    it('answers a bad item with "decision": false and a 400 error in its slot, the rest decided (c-3-4-1)', async function () {
      const result = await post(EVALUATIONS, {
        subject: alice, action: sign,
        options: { evaluations_semantic: 'execute_all' },
        evaluations: [{ resource: backup }, {}, { resource: backup, action: { name: 'sign', properties: { ttl: 'soon' } } }, 'not an object'],
      });
      expect(result.status, result.text).to.equal(200);
      const [first, missing, badTtl, notObject] = result.body.evaluations;
      expect(first.decision).to.equal(true);
      for (const item of [missing, badTtl, notObject]) {
        expect(item.decision).to.equal(false);
        expect(item.context.error.status).to.equal(400);
        expect(item.context.error.message).to.be.a('string').and.not.empty;
      }
      expect(missing.context.error.message).to.include('resource');
    });

    it('behaves as a single evaluation without an evaluations array, or with an empty one (c-3-4-2, c-3-4-3)', async function () {
      for (const body of [permit, { ...permit, evaluations: [] }]) {
        const result = await post(EVALUATIONS, body);
        expect(result.status, result.text).to.equal(200);
        expect(result.body.decision).to.equal(true);
        expect(result.body).to.not.have.property('evaluations');
      }
    });

    const mixed = [{ resource: backup }, { resource: { type: 'ssh_actor', id: 'agt-a' } }, { resource: backup }, { resource: { type: 'ssh_actor', id: 'agt-off' } }];

    it('executes every item under execute_all, the default', async function () {
      const result = await post(EVALUATIONS, { subject: alice, action: sign, evaluations: mixed });
      expect(result.body.evaluations.map((e: any) => e.decision), result.text).to.deep.equal([true, false, true, false]);
    });

    it('stops at the first deny under deny_on_first_deny, answering only that far', async function () {
      const result = await post(EVALUATIONS, { subject: alice, action: sign, options: { evaluations_semantic: 'deny_on_first_deny' }, evaluations: mixed });
      expect(result.body.evaluations.map((e: any) => e.decision), result.text).to.deep.equal([true, false]);
      const error = await post(EVALUATIONS, { subject: alice, action: sign, options: { evaluations_semantic: 'deny_on_first_deny' }, evaluations: [{ resource: backup }, {}, { resource: backup }] });
      expect(error.body.evaluations, error.text).to.have.length(2); // an error is a denial too
    });

    it('stops at the first permit under permit_on_first_permit, answering only that far', async function () {
      const result = await post(EVALUATIONS, { subject: alice, action: sign, options: { evaluations_semantic: 'permit_on_first_permit' }, evaluations: [...mixed].reverse() });
      expect(result.body.evaluations.map((e: any) => e.decision), result.text).to.deep.equal([false, true]);
    });

    it('refuses an unknown semantic, a non-array evaluations and more than 64 items with 400', async function () {
      expect((await post(EVALUATIONS, { ...permit, options: { evaluations_semantic: 'first_wins' }, evaluations: [{}] })).status).to.equal(400);
      expect((await post(EVALUATIONS, { ...permit, evaluations: { resource: backup } })).status).to.equal(400);
      const tooMany = await post(EVALUATIONS, { ...permit, evaluations: Array.from({ length: 65 }, () => ({})) });
      expect(tooMany.status, tooMany.text).to.equal(400);
      expect(tooMany.body.error.message).to.include('64');
      const most = await post(EVALUATIONS, { ...permit, evaluations: Array.from({ length: 64 }, () => ({})) });
      expect(most.status, most.text).to.equal(200);
      expect(most.body.evaluations).to.have.length(64);
    });

    it('logs each decided item as its own decision, all against one revision', async function () {
      const mark = server.stdout.mark();
      const result = await post(EVALUATIONS, { subject: alice, action: sign, evaluations: [...mixed, {}] }, { 'X-Request-ID': 'batch-log-1' });
      const lines = await pollUntil(async () => server.stdout.messages('decision', mark).filter((l) => l.request_id === 'batch-log-1'), (found) => found.length >= 4, 'four decision lines');
      expect(lines.map((l) => l.decision_id)).to.deep.equal(result.body.evaluations.slice(0, 4).map((e: any) => e.context.decision_id));
      expect(new Set(result.body.evaluations.slice(0, 4).map((e: any) => e.context.registry_revision)).size).to.equal(1);
    });
  });

  describe('Search APIs (c-4)', function () {
    const subjectSearch = { subject: { type: 'identity' }, action: sign, resource: backup };

    it('finds who may sign for an actor, through nested groups, saying through which (c-4-2-1)', async function () {
      const result = await post(SEARCH_SUBJECT, subjectSearch);
      expect(result.status, result.text).to.equal(200);
      expect(isSearchAnswer(result.body)).to.equal(true);
      expect(result.body.results).to.deep.equal([
        { type: 'identity', id: 'iam:alice', properties: { via: ['group:backup-operators'] } },
        { type: 'identity', id: 'iam:carol', properties: { via: ['group:backup-operators', 'group:oncall'] } },
      ]);
      expect(result.body.page.next_token).to.equal('');
    });

    it('answers the same with a context, and ignores a subject id (c-4-2-2, c-4-2-3)', async function () {
      const plain = await post(SEARCH_SUBJECT, subjectSearch);
      const withContext = await post(SEARCH_SUBJECT, { ...subjectSearch, context: { time: '2025-06-27T18:03-07:00' } });
      const withId = await post(SEARCH_SUBJECT, { ...subjectSearch, subject: carol });
      expect(withContext.body.results).to.deep.equal(plain.body.results);
      expect(withId.body.results).to.deep.equal(plain.body.results);
    });

    it('finds only subjects the evaluation would allow: none when the action properties are out of bounds', async function () {
      const result = await post(SEARCH_SUBJECT, { ...subjectSearch, action: { name: 'sign', properties: { ttl: '9h' } } });
      expect(result.status, result.text).to.equal(200);
      expect(result.body.results).to.deep.equal([]);
    });

    it('finds which actors a subject may sign for, leaving out a disabled one (c-4-3-1, c-4-3-2, c-4-3-3)', async function () {
      const body = { subject: alice, action: sign, resource: { type: 'ssh_actor' } };
      const result = await post(SEARCH_RESOURCE, body);
      expect(result.status, result.text).to.equal(200);
      expect(result.body.results).to.deep.equal([{ type: 'ssh_actor', id: 'atm-backup' }]);
      expect((await post(SEARCH_RESOURCE, { ...body, context: { ip: '192.168.1.1' } })).body.results).to.deep.equal(result.body.results);
      expect((await post(SEARCH_RESOURCE, { ...body, resource: { type: 'ssh_actor', id: 'agt-a' } })).body.results).to.deep.equal(result.body.results);
    });

    it('finds which actions a subject may take on an actor (c-4-4-1, c-4-4-2)', async function () {
      const result = await post(SEARCH_ACTION, { subject: alice, resource: backup });
      expect(result.status, result.text).to.equal(200);
      expect(result.body.results).to.deep.equal([{ name: 'revoke' }, { name: 'sign' }]);
      expect((await post(SEARCH_ACTION, { subject: alice, resource: backup, context: { ip: '192.168.1.1' } })).body.results).to.deep.equal(result.body.results);
    });

    it('answers an unknown id or an unknown type with empty results, not an error (c-4-6)', async function () {
      const empties = [
        [SEARCH_ACTION, { subject: { type: 'identity', id: 'iam:nobody' }, resource: backup }],
        [SEARCH_ACTION, { subject: alice, resource: { type: 'ssh_actor', id: 'agt-missing' } }],
        [SEARCH_SUBJECT, { ...subjectSearch, subject: { type: 'spaceship' } }],
        [SEARCH_SUBJECT, { ...subjectSearch, resource: { type: 'ssh_actor', id: 'agt-missing' } }],
        [SEARCH_RESOURCE, { subject: alice, action: sign, resource: { type: 'spaceship' } }],
        [SEARCH_RESOURCE, { subject: { type: 'identity', id: 'iam:nobody' }, action: sign, resource: { type: 'ssh_actor' } }],
      ] as const;
      for (const [route, body] of empties) {
        const result = await post(route, body);
        expect(result.status, `${route} ${JSON.stringify(body)}: ${result.text}`).to.equal(200);
        expect(result.body.results).to.deep.equal([]);
        expect(result.body.page.next_token).to.equal('');
      }
    });

    it('answers a missing entity with 400 (c-4-7-1)', async function () {
      expect((await post(SEARCH_SUBJECT, { subject: { type: 'identity' }, resource: backup })).status).to.equal(400);
      expect((await post(SEARCH_RESOURCE, { action: sign, resource: { type: 'ssh_actor' } })).status).to.equal(400);
      expect((await post(SEARCH_ACTION, { subject: alice })).status).to.equal(400);
    });

    it('answers an input entity without its id, or a searched one without its type, with 400 (c-4-7-2)', async function () {
      const noIds = { subject: { type: 'identity' }, action: sign, resource: { type: 'ssh_actor' } };
      expect((await post(SEARCH_SUBJECT, noIds)).status).to.equal(400);
      expect((await post(SEARCH_RESOURCE, noIds)).status).to.equal(400);
      expect((await post(SEARCH_ACTION, { subject: { type: 'identity' }, resource: backup })).status).to.equal(400);
      expect((await post(SEARCH_SUBJECT, { ...subjectSearch, subject: {} })).status).to.equal(400);
    });

    describe('pagination (c-4-5)', function () {
      const many = { subject: { type: 'identity' }, action: sign, resource: { type: 'ssh_actor', id: 'atm-many' } };
      const everyone = ['iam:zed', ...BIG];

      it('pages through every result once, in a stable order, ending with an empty next_token', async function () {
        const pages = await allPages(server.url, SEARCH_SUBJECT, many, 7);
        expect(pages.every((p) => p.status === 200 && isSearchAnswer(p.body)), pages.map((p) => p.text).join('\n')).to.equal(true);
        expect(pages.map((p) => p.body.results.length)).to.deep.equal([7, 7, 7, 5]);
        expect(pages.map((p) => p.body.page.count)).to.deep.equal([7, 7, 7, 5]);
        expect(pages.slice(0, -1).every((p) => p.body.page.next_token !== '')).to.equal(true);
        const ids = pages.flatMap((p) => p.body.results.map((r: any) => r.id));
        expect(ids).to.have.members(everyone);
        expect(ids).to.have.length(everyone.length);
        const again = (await allPages(server.url, SEARCH_SUBJECT, many, 7)).flatMap((p) => p.body.results.map((r: any) => r.id));
        expect(again).to.deep.equal(ids);
        const oneGo = await post(SEARCH_SUBJECT, many);
        expect(oneGo.body.results.map((r: any) => r.id)).to.deep.equal(ids);
      });

      it('ends with an empty next_token when no allowed result is left, even if candidates are (c-4-5-2)', async function () {
        // alice is granted agt-off too, but it is disabled: after atm-backup nothing she may sign for is left.
        const result = await post(SEARCH_RESOURCE, { subject: alice, action: sign, resource: { type: 'ssh_actor' }, page: { limit: 1 } });
        expect(result.body.results, result.text).to.deep.equal([{ type: 'ssh_actor', id: 'atm-backup' }]);
        expect(result.body.page.next_token).to.equal('');
      });

      it('accepts a follow-up with the same limit, and refuses one with another limit or other entities (400)', async function () {
        const first = await post(SEARCH_SUBJECT, { ...many, page: { limit: 10 } });
        const token = first.body.page.next_token as string;
        expect(token).to.not.equal('');
        expect((await post(SEARCH_SUBJECT, { ...many, page: { token, limit: 10 } })).status).to.equal(200);
        expect((await post(SEARCH_SUBJECT, { ...many, page: { token, limit: 5 } })).status).to.equal(400);
        const otherActor = await post(SEARCH_SUBJECT, { ...many, resource: backup, page: { token } });
        expect(otherActor.status, otherActor.text).to.equal(400);
        const otherEndpoint = await post(SEARCH_RESOURCE, { subject: alice, action: sign, resource: { type: 'ssh_actor' }, page: { token } });
        expect(otherEndpoint.status).to.equal(400);
      });

      it('refuses a token that is not one it issued, and a limit that is not a non-negative integer (400)', async function () {
        for (const page of [{ token: 'bm90IGEgdG9rZW4' }, { token: 42 }, { limit: -1 }, { limit: 1.5 }, { limit: '10' }, 'all']) {
          const result = await post(SEARCH_SUBJECT, { ...many, page });
          expect(result.status, `${JSON.stringify(page)}: ${result.text}`).to.equal(400);
        }
      });

      it('refuses (400) a token it issued whose offset or limit was edited, never indexing with it', async function () {
        const first = await post(SEARCH_SUBJECT, { ...many, page: { limit: 10 } });
        const [revision, query, offset, limit] = JSON.parse(Buffer.from(first.body.page.next_token as string, 'base64url').toString('utf8')) as unknown[];
        expect([offset, limit]).to.deep.equal([10, 10]);
        for (const [editedOffset, editedLimit] of [[-1, 10], [0.5, 10], [10, 0], [10, -5], [10, 1_000_000]]) {
          const token = Buffer.from(JSON.stringify([revision, query, editedOffset, editedLimit])).toString('base64url');
          const result = await post(SEARCH_SUBJECT, { ...many, page: { token } });
          expect(result.status, `${editedOffset}/${editedLimit}: ${result.text}`).to.equal(400);
          expect(result.body.error.message).to.include('is not a token this PDP issued');
        }
      });

      it('answers a search whose context nests thousands deep (a 200, not a 500), and pages through it', async function () {
        // Written out by hand: JSON.stringify itself would overflow on such a value.
        const deep = `${'['.repeat(8000)}"bottom"${']'.repeat(8000)}`;
        const send = async (page: object) => {
          const text = JSON.stringify({ ...many, context: { deep: 'DEEP' }, page }).replace('"DEEP"', deep);
          const response = await fetch(`${server.url}${SEARCH_SUBJECT}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
          return { status: response.status, text: await response.text() };
        };
        const first = await send({ limit: 10 });
        expect(first.status, first.text.slice(0, 300)).to.equal(200);
        const next = await send({ token: JSON.parse(first.text).page.next_token });
        expect(next.status, next.text.slice(0, 300)).to.equal(200);
        expect(JSON.parse(next.text).results.length).to.be.greaterThan(0);
      });

      it('refuses (400) a token issued before the registry changed', async function () {
        const first = await post(SEARCH_SUBJECT, { ...many, page: { limit: 5 } });
        const token = first.body.page.next_token as string;
        const before = first.body.page && (await getJson(server.url, '/v1/registry')).body.revision;
        await writeFile(file, JSON.stringify({ ...registry, metadata: { name: 'changed' } }));
        await pollUntil(async () => (await getJson(server.url, '/v1/registry')).body.revision, (revision) => revision !== before, 'the new revision');
        const stale = await post(SEARCH_SUBJECT, { ...many, page: { token } });
        expect(stale.status, stale.text).to.equal(400);
        expect(stale.body.error.message).to.include('revision');
      });
    });
  });

  describe('PDP metadata (c-6)', function () {
    it('serves the metadata document naming the base URL used and every endpoint, each of which answers', async function () {
      const result = await getJson(server.url, METADATA);
      expect(result.status, result.text).to.equal(200);
      expect(result.headers.get('content-type')).to.match(/^application\/json/);
      expect(result.body.policy_decision_point).to.equal(server.url);
      const endpoints = {
        access_evaluation_endpoint: EVALUATION,
        access_evaluations_endpoint: EVALUATIONS,
        search_subject_endpoint: SEARCH_SUBJECT,
        search_resource_endpoint: SEARCH_RESOURCE,
        search_action_endpoint: SEARCH_ACTION,
      };
      for (const [key, route] of Object.entries(endpoints)) expect(result.body[key], key).to.equal(`${server.url}${route}`);
      const evaluated = await request(result.body.access_evaluation_endpoint, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(permit) });
      expect(evaluated.body.decision).to.equal(true);
    });

    it('uses https when a TLS-terminating proxy says so, and refuses a Host that is not a plain host (400)', async function () {
      const proxied = await getWithHost(server.port, 'pdp.example.com', { 'X-Forwarded-Proto': 'https' });
      expect(proxied.status).to.equal(200);
      expect(proxied.body.policy_decision_point).to.equal('https://pdp.example.com');
      expect(proxied.body.access_evaluation_endpoint).to.equal('https://pdp.example.com/access/v1/evaluation');
      expect((await getWithHost(server.port, 'evil.example/path?x=')).status).to.equal(400);
    });
  });
});
