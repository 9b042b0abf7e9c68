import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { parseCheckRequest } from '../../../src/core/check-request.js';
import { decide } from '../../../src/core/decide.js';
import type { Decision } from '../../../src/core/types.js';
import type { CompiledRegistry } from '../../../src/registry/compiled-registry.js';
import { loadRegistry } from '../../../src/registry/load.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';
import type { Json } from '../../fixtures/registry.js';

/** The certificate rules of ssh-sign/v1 (contract section 14), one behaviour per test. */

const BACKUP_COMMAND = '/usr/local/bin/backup-run --nightly';
const ACTORS = [
  actorEntry('agt-plain'),
  actorEntry('atm-backup', {
    type: 'automation',
    certificate: {
      extensions: { allowed: [], default: [] },
      critical_options: { force_command: BACKUP_COMMAND, source_address: ['2001:db8:20::/48', '10.20.0.0/16'] },
    },
  }),
  actorEntry('adm-a', {
    type: 'admin',
    certificate: { extensions: { allowed: ['permit-pty', 'permit-port-forwarding', 'permit-agent-forwarding'], default: ['permit-pty', 'permit-port-forwarding'] } },
  }),
  actorEntry('svc-host', { type: 'service', certificate: { types: ['host'] } }),
  actorEntry('svc-both', { type: 'service', certificate: { types: ['user', 'host'], critical_options: { source_address: ['192.0.2.0/24'] } } }),
  actorEntry('agt-narrow', { certificate: { critical_options: { source_address: ['10.0.0.0/8'] } } }),
  actorEntry('atm-command', { type: 'automation', certificate: { critical_options: { force_command: BACKUP_COMMAND } } }),
  actorEntry('svc-pinned', { type: 'service', certificate: { types: ['user', 'host'], critical_options: { force_command: BACKUP_COMMAND, source_address: ['192.0.2.0/24'] } } }),
];

let registry: CompiledRegistry;
before(() => {
  registry = loadRegistry(text(registryDocument(ACTORS)));
});

function check(actor: string, context?: Json, explain = false): Decision {
  const body = { subject: { id: actor }, action: 'sign', resource: { id: actor }, ...(context ? { context } : {}) };
  return decide(registry, parseCheckRequest(body), { explain });
}

function denied(decision: Decision, reason: string, message: string): void {
  expect(decision).to.include({ allow: false, reason, message });
  expect(decision).not.to.have.property('grant');
}

describe('the certificate rules of ssh-sign/v1', () => {
  describe('an actor without a certificate section', () => {
    it('gets a user certificate with permit-pty and no critical options, its key id the decision id', () => {
      const decision = check('agt-plain');
      expect(decision.grant).to.deep.equal({
        ttl_seconds: 3600, principals: ['agt-plain'], cert_type: 'user', extensions: ['permit-pty'], critical_options: {}, key_id: decision.decision_id,
      });
    });

    it('may ask for fewer extensions (none) and gets exactly those', () => {
      expect(check('agt-plain', { extensions: [] }).grant?.extensions).to.deep.equal([]);
    });

    it('is refused a host certificate', () => {
      denied(check('agt-plain', { cert_type: 'host' }), 'cert_type_not_allowed', 'certificate type host is not allowed for actor agt-plain (allowed: user)');
    });

    it('is refused any extension but permit-pty, naming only the refused ones', () => {
      denied(check('agt-plain', { extensions: ['permit-pty', 'permit-agent-forwarding', 'permit-X11-forwarding'] }), 'extension_not_allowed',
        'extensions not allowed for actor agt-plain: permit-X11-forwarding, permit-agent-forwarding (allowed: permit-pty)');
    });

    it('is refused a forced command the registry does not name, without echoing the command', () => {
      const decision = check('agt-plain', { critical_options: { force_command: '/bin/secret-token-123' } });
      denied(decision, 'critical_option_not_allowed', 'force_command not allowed for actor agt-plain: its registry entry names no forced command');
    });

    it('may restrict itself to source addresses (a narrowing of an unrestricted certificate)', () => {
      const decision = check('agt-plain', { critical_options: { source_address: ['198.51.100.0/24', '10.1.0.0/16'] } });
      expect(decision.grant?.critical_options).to.deep.equal({ source_address: ['10.1.0.0/16', '198.51.100.0/24'] });
    });
  });

  describe('an actor with a forced command and source addresses', () => {
    it('gets them in every grant when the request names none, source addresses sorted', () => {
      const decision = check('atm-backup');
      expect(decision.grant).to.deep.include({
        cert_type: 'user', extensions: [], critical_options: { force_command: BACKUP_COMMAND, source_address: ['10.20.0.0/16', '2001:db8:20::/48'] },
      });
    });

    it('keeps its forced command when the request narrows only the source addresses', () => {
      expect(check('atm-backup', { critical_options: { source_address: ['10.20.30.0/24', '2001:db8:20:1::/64'] } }).grant?.critical_options).to.deep.equal({
        force_command: BACKUP_COMMAND, source_address: ['10.20.30.0/24', '2001:db8:20:1::/64'],
      });
    });

    it('accepts a source block equal to its own, and the same command spelt out', () => {
      const decision = check('atm-backup', { critical_options: { force_command: BACKUP_COMMAND, source_address: ['10.20.0.0/16'] } });
      expect(decision.allow, decision.message).to.equal(true);
    });

    it('refuses a source block wider than or beside its own, naming it', () => {
      for (const wider of ['10.0.0.0/8', '10.21.0.0/16', '0.0.0.0/0', '2001:db8::/32', '::/0']) {
        denied(check('atm-backup', { critical_options: { source_address: ['10.20.1.0/24', wider] } }), 'critical_option_not_allowed',
          `source_address not within actor atm-backup's (10.20.0.0/16, 2001:db8:20::/48): ${wider}`);
      }
    });

    it('never matches an IPv4 block inside an IPv6 one or the other way round', () => {
      const decision = check('agt-narrow', { critical_options: { source_address: ['::ffff:10.0.0.0/104'] } });
      expect(decision.reason).to.equal('critical_option_not_allowed');
    });

    it('refuses another forced command, without echoing either', () => {
      denied(check('atm-backup', { critical_options: { force_command: '/bin/sh' } }), 'critical_option_not_allowed',
        'force_command differs from the one actor atm-backup\'s registry entry names');
    });

    it('names every refused source block', () => {
      denied(check('atm-backup', { critical_options: { source_address: ['10.0.0.0/8', '10.20.1.0/24', '192.0.2.0/24'] } }), 'critical_option_not_allowed',
        'source_address not within actor atm-backup\'s (10.20.0.0/16, 2001:db8:20::/48): 10.0.0.0/8, 192.0.2.0/24');
    });

    it('grants only the options the actor has when the request spells out its forced command', () => {
      expect(check('atm-command', { critical_options: { force_command: BACKUP_COMMAND } }).grant?.critical_options).to.deep.equal({ force_command: BACKUP_COMMAND });
      expect(check('atm-command', { extensions: [] }).grant?.critical_options).to.deep.equal({ force_command: BACKUP_COMMAND });
      expect(check('atm-command').grant?.critical_options).to.deep.equal({ force_command: BACKUP_COMMAND });
    });

    it('refuses any extension, saying none are allowed', () => {
      denied(check('atm-backup', { extensions: ['permit-pty'] }), 'extension_not_allowed', 'extensions not allowed for actor atm-backup: permit-pty (allowed: none)');
    });
  });

  describe('extensions', () => {
    it('default to the actor\'s default list, sorted', () => {
      expect(check('adm-a').grant?.extensions).to.deep.equal(['permit-port-forwarding', 'permit-pty']);
    });

    it('are refused by name, the allowed ones listed', () => {
      denied(check('adm-a', { extensions: ['permit-user-rc', 'permit-pty', 'no-touch-required'] }), 'extension_not_allowed',
        'extensions not allowed for actor adm-a: no-touch-required, permit-user-rc (allowed: permit-agent-forwarding, permit-port-forwarding, permit-pty)');
    });

    it('may be any subset of the allowed list, granted sorted', () => {
      expect(check('adm-a', { extensions: ['permit-pty', 'permit-agent-forwarding'] }).grant?.extensions).to.deep.equal(['permit-agent-forwarding', 'permit-pty']);
    });
  });

  describe('host certificates', () => {
    it('are granted to a host-only actor that asks for one, with no extensions and no critical options', () => {
      expect(check('svc-host', { cert_type: 'host' }).grant).to.deep.include({ cert_type: 'host', extensions: [], critical_options: {} });
    });

    it('are the only kind a host-only actor gets: a request that names no type asks for a user certificate', () => {
      denied(check('svc-host'), 'cert_type_not_allowed', 'certificate type user is not allowed for actor svc-host (allowed: host)');
    });

    it('carry no extensions (PROTOCOL.certkeys defines none for hosts)', () => {
      denied(check('svc-host', { cert_type: 'host', extensions: ['permit-pty', 'no-touch-required'] }), 'extension_not_allowed',
        'host certificates carry no extensions (requested: no-touch-required, permit-pty)');
    });

    it('are refused to an actor whose certificates must carry critical options, which a host certificate cannot', () => {
      denied(check('svc-both', { cert_type: 'host' }), 'critical_option_not_allowed', 'host certificates carry no critical options (actor svc-both requires: source_address)');
      expect(check('svc-both', { cert_type: 'user' }).allow).to.equal(true);
      denied(check('svc-pinned', { cert_type: 'host' }), 'critical_option_not_allowed',
        'host certificates carry no critical options (actor svc-pinned requires: force_command, source_address)');
    });
  });

  describe('reasons', () => {
    it('come after principal_not_allowed and before ttl_out_of_bounds, in the contract order', () => {
      const all = { principals: ['root'], cert_type: 'host', extensions: ['permit-user-rc'], critical_options: { force_command: 'x' }, ttl: '999h' };
      expect(check('agt-plain', all).reason).to.equal('principal_not_allowed');
      expect(check('agt-plain', { ...all, principals: undefined }).reason).to.equal('cert_type_not_allowed');
      expect(check('agt-plain', { ...all, principals: undefined, cert_type: undefined }).reason).to.equal('extension_not_allowed');
      expect(check('agt-plain', { ttl: '999h', critical_options: { force_command: 'x' } }).reason).to.equal('critical_option_not_allowed');
      expect(check('agt-plain', { ttl: '999h' }).reason).to.equal('ttl_out_of_bounds');
    });

    it('are each shown in the trace with their result and message, past the first failure', () => {
      const decision = check('agt-plain', { cert_type: 'host', extensions: ['permit-user-rc'], critical_options: { force_command: 'x' } }, true);
      const rules = decision.trace!.filter((entry) => ['cert_type_allowed', 'extensions_allowed', 'critical_options_allowed'].includes(entry.rule));
      expect(rules.map((entry) => [entry.rule, entry.reason, entry.result])).to.deep.equal([
        ['cert_type_allowed', 'cert_type_not_allowed', 'fail'],
        ['extensions_allowed', 'extension_not_allowed', 'fail'],
        ['critical_options_allowed', 'critical_option_not_allowed', 'fail'],
      ]);
      expect(rules.map((entry) => entry.message)).to.deep.equal([
        'certificate type host is not allowed for actor agt-plain (allowed: user)',
        'host certificates carry no extensions (requested: permit-user-rc)',
        'force_command not allowed for actor agt-plain: its registry entry names no forced command',
      ]);
    });
  });

  describe('decision ids', () => {
    it('are the v1 id when the certificate fields spell out the defaults', () => {
      const id = check('agt-plain').decision_id;
      expect(check('agt-plain', { cert_type: 'user' }).decision_id).to.equal(id);
      expect(check('agt-plain', { extensions: ['permit-pty'] }).decision_id).to.equal(id);
      const backup = check('atm-backup').decision_id;
      expect(check('atm-backup', { extensions: [], critical_options: { force_command: BACKUP_COMMAND } }).decision_id).to.equal(backup);
      expect(check('atm-backup', { critical_options: { source_address: ['2001:db8:20::/48', '10.20.0.0/16'] } }).decision_id).to.equal(backup);
      expect(check('svc-host', { cert_type: 'host', extensions: [] }).decision_id).to.equal(check('svc-host', { cert_type: 'host' }).decision_id);
    });

    it('differ for every different certificate asked for', () => {
      const ids = [
        check('adm-a'),
        check('adm-a', { cert_type: 'host' }),
        check('adm-a', { extensions: [] }),
        check('adm-a', { extensions: ['permit-pty'] }),
        check('adm-a', { extensions: ['permit-agent-forwarding'] }),
        // As many extensions as the default (permit-port-forwarding, permit-pty), one of them other.
        check('adm-a', { extensions: ['permit-agent-forwarding', 'permit-pty'] }),
        check('adm-a', { critical_options: { source_address: ['10.0.0.0/8'] } }),
        check('adm-a', { critical_options: { source_address: ['10.0.0.0/9'] } }),
        check('adm-a', { critical_options: { force_command: 'x' } }),
      ].map((decision) => decision.decision_id);
      expect(new Set(ids).size).to.equal(ids.length);
    });

    it('hash the canonical JSON of the normalized request with the certificate fields that differ from the defaults', () => {
      const decision = check('agt-plain', { cert_type: 'host', critical_options: { source_address: ['10.0.0.0/8'] } });
      // Keys sorted by hand: the test does not reuse the code's canonicalizer. No extensions is a
      // host certificate's default, so `extensions` is left out.
      const canonical = '{"policy":"ssh-sign/v1","request":{"action":"sign","cert_type":"host","critical_options":{"source_address":["10.0.0.0/8"]},' +
        '"principals":["agt-plain"],"resource":{"id":"agt-plain","type":"ssh_actor"},"subject":"agt-plain","ttl_seconds":3600},' +
        `"revision":"${registry.revision}"}`;
      expect(decision.decision_id).to.equal(`decision:${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}`);
    });
  });
});
