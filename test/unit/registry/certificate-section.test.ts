import { expect } from 'chai';
import fc from 'fast-check';
import { isPlainActor, plainlyMeetsSchema } from '../../../src/registry/plain-validation.js';
import { loadRegistry, validateRegistry } from '../../../src/registry/load.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';
import type { Json } from '../../fixtures/registry.js';
import { invalidCertificateParts, validCertificate } from '../../helpers/registry-shapes.js';

/** The registry's optional per-actor `certificate` section (contract section 14). */

function withCertificate(certificate: unknown): Json {
  return registryDocument([actorEntry('agt-ok'), actorEntry('agt-a', { certificate })]);
}

/** `path: message` lines, as `flex-auth validate` prints them. */
function errors(certificate: unknown): string[] {
  return validateRegistry(withCertificate(certificate)).map((detail) => `${detail.path}: ${detail.message}`);
}

const AT = 'actors[1].certificate';

describe('the certificate section of a registry actor', () => {
  it('is valid in full, in part, and empty', () => {
    const full = {
      types: ['user', 'host'],
      extensions: { allowed: ['permit-pty', 'permit-agent-forwarding', 'no-touch-required'], default: ['permit-pty'] },
      critical_options: { force_command: '/usr/local/bin/backup-run --nightly', source_address: ['10.20.0.0/16', '2001:db8:20::/48'] },
    };
    for (const certificate of [full, {}, { types: ['host'] }, { extensions: { allowed: [] } }, { critical_options: {} }]) {
      expect(errors(certificate), JSON.stringify(certificate)).to.deep.equal([]);
      expect(plainlyMeetsSchema(withCertificate(certificate)), JSON.stringify(certificate)).to.equal(true);
    }
  });

  it('reports every problem at once, each at its path', () => {
    expect(errors({
      types: ['user', 'ca', 'user'],
      extensions: { allowed: ['permit-pty', 'permit-pty', 'login@openssh.com'], default: ['permit-agent-forwarding'] },
      critical_options: { force_command: 'backup\n--all', source_address: ['10.0.0.1/8', '10.0.0.0', '2001:db8::/129', 'fe80::%eth0/64'], verify_required: true },
      cert_type: 'user',
    })).to.have.members([
      `${AT}.cert_type: unknown key`,
      `${AT}.types[1]: must be one of user, host`,
      `${AT}.types[2]: duplicate certificate type user (first at index 0)`,
      `${AT}.extensions.allowed[1]: duplicate extension permit-pty (first at index 0)`,
      `${AT}.extensions.allowed[2]: must be one of no-touch-required, permit-X11-forwarding, permit-agent-forwarding, permit-port-forwarding, permit-pty, permit-user-rc`,
      `${AT}.extensions.default[0]: permit-agent-forwarding must also be in extensions.allowed`,
      `${AT}.critical_options.verify_required: unknown key`,
      `${AT}.critical_options.force_command: must not contain control or invisible characters`,
      `${AT}.critical_options.source_address[0]: must be a CIDR block such as 10.0.0.0/8 or 2001:db8::/32 (host bits are set after /8; sshd refuses such a block)`,
      `${AT}.critical_options.source_address[1]: must be a CIDR block such as 10.0.0.0/8 or 2001:db8::/32 (a prefix length is required)`,
      `${AT}.critical_options.source_address[2]: must be a CIDR block such as 10.0.0.0/8 or 2001:db8::/32 (the prefix length must be 0-128)`,
      `${AT}.critical_options.source_address[3]: must be a CIDR block such as 10.0.0.0/8 or 2001:db8::/32 ("fe80::%eth0" is not an IP address)`,
    ]);
  });

  it('refuses empty lists where an empty list would mean nothing, and the wrong types', () => {
    expect(errors({ types: [] })).to.deep.equal([`${AT}.types: must not be empty (omit it for ["user"])`]);
    expect(errors({ critical_options: { source_address: [] } })).to.deep.equal([`${AT}.critical_options.source_address: must not be empty (omit it for no source restriction)`]);
    expect(errors({ extensions: { default: [] } })).to.deep.equal([`${AT}.extensions.allowed: is required`]);
    expect(errors({ critical_options: { force_command: '' } })).to.deep.equal([`${AT}.critical_options.force_command: is required`]);
    expect(errors('user')).to.deep.equal([`${AT}: must be an object`]);
    expect(errors({ types: 'user' })).to.deep.equal([`${AT}.types: must be an array`]);
  });

  it('bounds the forced command and the number of source blocks', () => {
    expect(errors({ critical_options: { force_command: 'x'.repeat(1024) } })).to.deep.equal([]);
    expect(errors({ critical_options: { force_command: 'x'.repeat(1025) } })).to.deep.equal([`${AT}.critical_options.force_command: must be at most 1024 characters`]);
    const blocks = Array.from({ length: 65 }, (_, i) => `10.${i}.0.0/16`);
    expect(errors({ critical_options: { source_address: blocks.slice(0, 64) } })).to.deep.equal([]);
    expect(errors({ critical_options: { source_address: blocks } })).to.deep.equal([`${AT}.critical_options.source_address: must have at most 64 entries`]);
  });

  it('refuses invisible and control characters in a forced command (bidirectional overrides, zero-width, DEL, C1)', () => {
    for (const bad of ['a\u0000b', 'a\tb', 'a\u007fb', 'a\u0085b', 'a\u200bb', 'a\u202eb', 'a\u2028b', 'a\ufeffb']) {
      expect(errors({ critical_options: { force_command: bad } }), JSON.stringify(bad)).to.deep.equal([`${AT}.critical_options.force_command: must not contain control or invisible characters`]);
    }
  });

  it('is judged alike by the schema and the plain pass, valid or broken in any one way', () => {
    fc.assert(fc.property(validCertificate, fc.option(invalidCertificateParts, { nil: undefined }), (valid, broken) => {
      const certificate = broken === undefined ? valid : { ...valid, ...broken };
      const schemaSays = errors(certificate).length === 0;
      expect(schemaSays, JSON.stringify(certificate)).to.equal(broken === undefined);
      expect(plainlyMeetsSchema(withCertificate(certificate)), JSON.stringify(certificate)).to.equal(schemaSays);
      expect(isPlainActor(actorEntry('agt-a', { certificate })), JSON.stringify(certificate)).to.equal(schemaSays);
    }), { numRuns: 1000 });
  });

  it('changes the registry revision, and leaves it alone when absent', () => {
    const without = loadRegistry(text(registryDocument([actorEntry('agt-a')])));
    const withEmpty = loadRegistry(text(withCertificate({})));
    const withTypes = loadRegistry(text(registryDocument([actorEntry('agt-a', { certificate: { types: ['user'] } })])));
    const withOther = loadRegistry(text(registryDocument([actorEntry('agt-a', { certificate: { types: ['user', 'host'] } })])));
    expect(new Set([without.revision, withEmpty.revision, withTypes.revision, withOther.revision]).size).to.equal(4);
  });

  it('compiles to a profile shared by every actor without one, and to the contract defaults', () => {
    const registry = loadRegistry(text(registryDocument([actorEntry('agt-a'), actorEntry('agt-b')])));
    const a = registry.actor('agt-a')!.certificate;
    expect(registry.actor('agt-b')!.certificate).to.equal(a);
    expect(a).to.deep.include({ types: ['user'], allowedExtensions: ['permit-pty'], defaultExtensions: ['permit-pty'], criticalOptions: {} });
    expect(Object.isFrozen(a) && Object.isFrozen(a.unrequested) && Object.isFrozen(a.criticalOptions)).to.equal(true);
  });

  it('compiles a section with no default extensions to none, and sorts lists', () => {
    const registry = loadRegistry(text(registryDocument([actorEntry('agt-a', {
      certificate: { extensions: { allowed: ['permit-pty', 'no-touch-required'] }, critical_options: { source_address: ['192.0.2.0/24', '10.0.0.0/8'] } },
    })])));
    expect(registry.actor('agt-a')!.certificate).to.deep.include({
      types: ['user'], allowedExtensions: ['no-touch-required', 'permit-pty'], defaultExtensions: [], criticalOptions: { source_address: ['10.0.0.0/8', '192.0.2.0/24'] },
    });
  });
});
