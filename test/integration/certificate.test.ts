import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { EVALUATION, postAuthzen } from '../helpers/authzen.js';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { runCli, startServer, stopAll } from '../helpers/flex-auth.js';
import type { ServerProcess } from '../helpers/flex-auth.js';
import { postCheck } from '../helpers/http.js';
import { EXAMPLES, PRODUCTION_REGISTRY, REQUESTS_DIR } from '../helpers/paths.js';

/**
 * The whole certificate (contract section 14) through a real `flex-auth serve` and the offline
 * `flex-auth check`, `test` and `diff`: the example requests for each new reason, with the same
 * decision ids both ways.
 */

const CERTIFICATE_REGISTRY = path.join(EXAMPLES, 'ops-warden', 'certificate_registry_snapshot.json');
const CERTIFICATE_REQUESTS = path.join(REQUESTS_DIR, 'certificate');
const CERTIFICATE_TESTS = path.join(EXAMPLES, 'ops-warden', 'certificate_registry.tests.yaml');
const NEW_REASONS = ['cert_type_not_allowed', 'extension_not_allowed', 'critical_option_not_allowed'];

/** The reason a request file is named for: allow-*.json or deny-<reason>.json. */
function reasonOf(file: string): string {
  return file.startsWith('allow-') ? 'allowed' : file.replace(/^deny-/, '').replace(/\.json$/, '').replaceAll('-', '_');
}

describe('the whole certificate through serve and the CLI', function () {
  this.timeout(30_000);
  let production: ServerProcess | undefined;
  let certificates: ServerProcess | undefined;

  before(async function () {
    [production, certificates] = await Promise.all([
      startServer(['--registry-file', PRODUCTION_REGISTRY], { name: 'production' }),
      startServer(['--registry-file', CERTIFICATE_REGISTRY], { name: 'certificates' }),
    ]);
    await Promise.all([production.stdout.waitForMessage('registry loaded'), certificates.stdout.waitForMessage('registry loaded')]);
  });

  after(async function () {
    await stopAll(production, certificates);
  });

  const cases = [
    ...readdirSync(REQUESTS_DIR).filter((f) => f.endsWith('.json') && NEW_REASONS.includes(reasonOf(f)))
      .map((file) => ({ file: path.join(REQUESTS_DIR, file), registry: PRODUCTION_REGISTRY, server: () => production! })),
    ...readdirSync(CERTIFICATE_REQUESTS).filter((f) => f.endsWith('.json'))
      .map((file) => ({ file: path.join(CERTIFICATE_REQUESTS, file), registry: CERTIFICATE_REGISTRY, server: () => certificates! })),
  ];

  it('has an example request for each new reason against each example registry, and allows', () => {
    const reasons = (registry: string) => cases.filter((c) => c.registry === registry).map((c) => reasonOf(path.basename(c.file)));
    expect(new Set(reasons(PRODUCTION_REGISTRY))).to.deep.equal(new Set(NEW_REASONS));
    expect(new Set(reasons(CERTIFICATE_REGISTRY))).to.deep.equal(new Set([...NEW_REASONS, 'allowed']));
  });

  for (const { file, registry, server } of cases) {
    const reason = reasonOf(path.basename(file));
    it(`${path.relative(REQUESTS_DIR, file)}: ${reason}, the same decision from serve and from check`, async function () {
      const body = readFileSync(file, 'utf8');
      const served = await postCheck(server().url, body);
      expect(served.status, served.text).to.equal(200);
      expect(served.body.reason, served.text).to.equal(reason);
      const offline = await runCli(['check', '--registry', registry, file]);
      expect(offline.code, offline.stderr).to.equal(reason === 'allowed' ? 0 : 1);
      expect(JSON.parse(offline.stdout)).to.deep.equal(served.body);
      if (reason === 'allowed') {
        expect(served.body.grant.key_id).to.equal(served.body.decision_id);
        expect(served.body.grant).to.have.all.keys('ttl_seconds', 'principals', 'cert_type', 'extensions', 'critical_options', 'key_id');
      } else {
        expect(served.body.message).to.be.a('string').and.not.be.empty;
      }
    });
  }

  it('shows each new rule in the explain trace of serve and check alike', async function () {
    const file = path.join(CERTIFICATE_REQUESTS, 'deny-critical-option-not-allowed.json');
    const served = await postCheck(certificates!.url, readFileSync(file, 'utf8'), { query: '?explain=true' });
    const offline = await runCli(['check', '--explain', '--registry', CERTIFICATE_REGISTRY, file]);
    expect(JSON.parse(offline.stdout)).to.deep.equal(served.body);
    const rules = (served.body.trace as { rule: string; reason: string; result: string }[]).map((entry) => [entry.rule, entry.reason, entry.result]);
    expect(rules.slice(5, 9)).to.deep.equal([
      ['principals_allowed', 'principal_not_allowed', 'pass'],
      ['cert_type_allowed', 'cert_type_not_allowed', 'pass'],
      ['extensions_allowed', 'extension_not_allowed', 'pass'],
      ['critical_options_allowed', 'critical_option_not_allowed', 'fail'],
    ]);
  });

  it('gives the same decision and grant through AuthZEN, the certificate fields in action.properties', async function () {
    const properties = { extensions: ['permit-pty', 'permit-port-forwarding'], principals: ['ops-admin'] };
    const check = { subject: { id: 'iam:adm-example' }, action: 'sign', resource: { id: 'adm-example' }, context: properties };
    const evaluation = { subject: { type: 'identity', id: 'iam:adm-example' }, action: { name: 'sign', properties }, resource: { type: 'ssh_actor', id: 'adm-example' } };
    const [viaCheck, viaAuthzen] = await Promise.all([postCheck(certificates!.url, check), postAuthzen(certificates!.url, EVALUATION, evaluation)]);
    expect(viaAuthzen.body.decision, viaAuthzen.text).to.equal(true);
    expect(viaAuthzen.body.context.decision_id).to.equal(viaCheck.body.decision_id);
    expect(viaAuthzen.body.context.grant).to.deep.equal(viaCheck.body.grant);
    expect(viaAuthzen.body.context).to.not.have.property('warnings');

    const bad = await postAuthzen(certificates!.url, EVALUATION, { ...evaluation, action: { name: 'sign', properties: { extensions: ['permit-pty', 'permit-pty'] } } });
    expect(bad.status, bad.text).to.equal(400);
    expect(bad.body.error.details).to.deep.equal([{ path: 'action.properties.extensions[1]', message: 'duplicate extension permit-pty (first at index 0)' }]);
  });

  it('answers a certificate field that is not valid with a 400 at its path, whatever the registry', async function () {
    const body = { subject: { id: 'iam:atm-backup-daily' }, action: 'sign', resource: { id: 'atm-backup-daily' }, context: { critical_options: { source_address: ['10.20.0.1/16'] } } };
    const served = await postCheck(certificates!.url, body);
    expect(served.status).to.equal(400);
    expect(served.body.error.details.map((d: { path: string }) => d.path)).to.deep.equal(['context.critical_options.source_address[0]']);
  });

  describe('flex-auth test', function () {
    it('holds the shipped certificate tests offline and against serve, with the same ids', async function () {
      const offline = await runCli(['test', CERTIFICATE_TESTS, '--format', 'json']);
      const online = await runCli(['test', CERTIFICATE_TESTS, '--url', certificates!.url, '--format', 'json']);
      expect(offline.code, offline.stdout + offline.stderr).to.equal(0);
      expect(online.code, online.stdout + online.stderr).to.equal(0);
      const ids = (result: { stdout: string }) => (JSON.parse(result.stdout).files[0].cases as { actual: { decision_id: string } }[]).map((c) => c.actual.decision_id);
      expect(ids(online)).to.deep.equal(ids(offline));
    });

    it('fails a case whose expected certificate fields differ, showing expected and actual', async function () {
      const dir = await makeTempDir();
      try {
        const file = path.join(dir, 'wrong.tests.yaml');
        await writeFile(file, [
          'schema: flex-auth.tests/v1',
          `registry: ${CERTIFICATE_REGISTRY}`,
          'cases:',
          ...['cert_type: host', 'extensions: [permit-pty]', 'critical_options: {}', 'critical_options: { force_command: /usr/local/bin/backup-run --nightly }'].flatMap((grant, i) => [
            `  - name: wrong ${i}`,
            '    request: { subject: { id: "iam:atm-backup-daily" }, action: sign, resource: { id: atm-backup-daily } }',
            `    expect: { allow: true, grant: { ${grant} } }`,
          ]),
          '  - name: right',
          '    request: { subject: { id: "iam:atm-backup-daily" }, action: sign, resource: { id: atm-backup-daily } }',
          '    expect: { allow: true, grant: { cert_type: user, extensions: [], critical_options: { source_address: ["2001:db8:20::/48", 10.20.0.0/16], force_command: /usr/local/bin/backup-run --nightly } } }',
        ].join('\n'));
        const result = await runCli(['test', file]);
        expect(result.code, result.stdout + result.stderr).to.equal(1);
        expect(result.stdout).to.include('4 failed').and.include('1 passed');
        expect(result.stdout).to.include('expected: allow=true cert_type=host');
        expect(result.stdout).to.include('actual:   allow=true reason=allowed ttl_seconds=7200 principals=backup cert_type=user extensions= ' +
          'critical_options={"force_command":"/usr/local/bin/backup-run --nightly","source_address":["10.20.0.0/16","2001:db8:20::/48"]}');

        await writeFile(file, 'schema: flex-auth.tests/v1\ncases:\n  - name: bad\n    request: { subject: { id: a }, action: sign, resource: { id: a } }\n    expect: { allow: true, grant: { extensions: [permit-everything] } }\n');
        const invalid = await runCli(['test', file, '--registry', CERTIFICATE_REGISTRY]);
        expect(invalid.code).to.equal(2);
        expect(invalid.stderr).to.include('cases[0].expect.grant.extensions[0]: must be one of');
      } finally {
        await removeDir(dir);
      }
    });
  });

  describe('flex-auth diff', function () {
    it('reports certificate changes per actor, exiting 3 when one widens', async function () {
      const dir = await makeTempDir();
      try {
        const document = JSON.parse(readFileSync(CERTIFICATE_REGISTRY, 'utf8'));
        const widened = structuredClone(document);
        widened.actors[0].certificate.extensions = { allowed: ['permit-pty'], default: [] };
        widened.actors[0].certificate.critical_options.source_address = ['10.0.0.0/8'];
        delete widened.actors[0].certificate.critical_options.force_command;
        const [before, after] = [path.join(dir, 'before.json'), path.join(dir, 'after.json')];
        await writeFile(before, JSON.stringify(document));
        await writeFile(after, JSON.stringify(widened));
        const result = await runCli(['diff', before, after, '--format', 'json']);
        expect(result.code, result.stderr).to.equal(3);
        expect(JSON.parse(result.stdout).changes).to.deep.equal([
          { actor: 'atm-backup-daily', change: 'extensions_added', values: ['permit-pty'], widening: true },
          { actor: 'atm-backup-daily', change: 'force_command_removed', values: ['/usr/local/bin/backup-run --nightly'], widening: true },
          { actor: 'atm-backup-daily', change: 'source_address_widened', values: ['10.0.0.0/8'], widening: true },
          { actor: 'atm-backup-daily', change: 'source_address_narrowed', values: ['2001:db8:20::/48'], widening: false },
        ]);
        const text = await runCli(['diff', after, before]);
        expect(text.code, text.stderr).to.equal(3);
        expect(text.stdout).to.include('  narrows atm-backup-daily extensions_removed:\n      permit-pty\n');
        expect(text.stdout).to.include('  narrows atm-backup-daily force_command_added:\n      /usr/local/bin/backup-run --nightly\n');
        expect(text.stdout).to.include('  WIDENS  atm-backup-daily source_address_widened:\n      2001:db8:20::/48\n');
      } finally {
        await removeDir(dir);
      }
    });
  });
});
