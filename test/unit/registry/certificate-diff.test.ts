import { expect } from 'chai';
import fc from 'fast-check';
import { parseCheckRequest } from '../../../src/core/check-request.js';
import { decide } from '../../../src/core/decide.js';
import type { CertificateGrant } from '../../../src/core/types.js';
import { loadAccess } from '../../../src/registry/access.js';
import { diffAccess } from '../../../src/registry/diff.js';
import type { AccessChange } from '../../../src/registry/diff.js';
import { loadRegistry } from '../../../src/registry/load.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';
import type { Json } from '../../fixtures/registry.js';
import { contains, parseBlock } from '../../helpers/cidr-oracle.js';
import { FORCE_COMMANDS, validCertificate } from '../../helpers/registry-shapes.js';

/** `flex-auth diff` on certificate sections: types, extensions and critical options widened or narrowed. */

function withCertificate(certificate: Json | undefined): Json {
  return registryDocument([actorEntry('atm-b', certificate === undefined ? {} : { certificate })]);
}

function changes(before: Json | undefined, after: Json | undefined): Omit<AccessChange, 'actor'>[] {
  return diffAccess(loadAccess(text(withCertificate(before))), loadAccess(text(withCertificate(after)))).changes
    .map(({ actor: _actor, ...change }) => change);
}

/** Whether certificate `wide` permits everything `narrow` does. */
function covers(wide: CertificateGrant, narrow: CertificateGrant): boolean {
  const [w, n] = [wide.critical_options, narrow.critical_options];
  return wide.cert_type === narrow.cert_type &&
    narrow.extensions.every((e) => wide.extensions.includes(e)) &&
    (w.force_command === undefined || w.force_command === n.force_command) &&
    (w.source_address === undefined || (n.source_address !== undefined &&
      n.source_address.every((inner) => w.source_address!.some((outer) => contains(parseBlock(outer), parseBlock(inner))))));
}

describe('registry diff of certificate sections', () => {
  it('reports types, allowed and default extensions added as widening and removed as narrowing', () => {
    expect(changes(undefined, { types: ['user', 'host'], extensions: { allowed: ['permit-pty', 'permit-agent-forwarding'], default: ['permit-agent-forwarding', 'permit-pty'] } })).to.deep.equal([
      { change: 'cert_types_added', values: ['host'], widening: true },
      { change: 'extensions_added', values: ['permit-agent-forwarding'], widening: true },
      { change: 'default_extensions_added', values: ['permit-agent-forwarding'], widening: true },
    ]);
    expect(changes({ types: ['user', 'host'] }, { types: ['host'], extensions: { allowed: [] } })).to.deep.equal([
      { change: 'cert_types_removed', values: ['user'], widening: false },
      { change: 'extensions_removed', values: ['permit-pty'], widening: false },
      { change: 'default_extensions_removed', values: ['permit-pty'], widening: false },
    ]);
  });

  it('reports a forced command removed or changed as widening, and one added as narrowing', () => {
    const command = (force_command: string) => ({ critical_options: { force_command } });
    expect(changes(command('/usr/bin/a'), undefined)).to.deep.equal([{ change: 'force_command_removed', values: ['/usr/bin/a'], widening: true }]);
    expect(changes(command('/usr/bin/a'), command('/usr/bin/b'))).to.deep.equal([{ change: 'force_command_changed', values: ['/usr/bin/a', '/usr/bin/b'], widening: true }]);
    expect(changes(undefined, command('/usr/bin/a'))).to.deep.equal([{ change: 'force_command_added', values: ['/usr/bin/a'], widening: false }]);
  });

  it('reports source blocks by what they let in or shut out, nested blocks judged by containment', () => {
    const sources = (...source_address: string[]) => ({ critical_options: { source_address } });
    expect(changes(sources('10.20.0.0/16'), undefined)).to.deep.equal([{ change: 'source_address_unrestricted', values: ['10.20.0.0/16'], widening: true }]);
    expect(changes(undefined, sources('10.20.0.0/16'))).to.deep.equal([{ change: 'source_address_restricted', values: ['10.20.0.0/16'], widening: false }]);
    expect(changes(sources('10.20.0.0/16'), sources('10.0.0.0/8'))).to.deep.equal([{ change: 'source_address_widened', values: ['10.0.0.0/8'], widening: true }]);
    expect(changes(sources('10.0.0.0/8'), sources('10.20.0.0/16'))).to.deep.equal([{ change: 'source_address_narrowed', values: ['10.0.0.0/8'], widening: false }]);
    expect(changes(sources('10.0.0.0/8'), sources('10.20.0.0/16', '10.0.0.0/8'))).to.deep.equal([]);
    expect(changes(sources('10.0.0.0/8'), sources('192.0.2.0/24'))).to.deep.equal([
      { change: 'source_address_widened', values: ['192.0.2.0/24'], widening: true },
      { change: 'source_address_narrowed', values: ['10.0.0.0/8'], widening: false },
    ]);
  });

  it('sees no change between a missing section and one that spells out the defaults, or reordered lists', () => {
    expect(changes(undefined, { types: ['user'], extensions: { allowed: ['permit-pty'], default: ['permit-pty'] }, critical_options: {} })).to.deep.equal([]);
    expect(changes({ types: ['user', 'host'], extensions: { allowed: ['permit-pty', 'permit-user-rc'] } }, { types: ['host', 'user'], extensions: { allowed: ['permit-user-rc', 'permit-pty'] } })).to.deep.equal([]);
  });

  describe('against the engine', () => {
    /** Requests over the certificate fields for atm-b, each asking for something different. */
    const requests = [undefined, 'user', 'host'].flatMap((certType) =>
      [undefined, [], ['permit-pty'], ['permit-agent-forwarding'], ['permit-pty', 'permit-port-forwarding']].flatMap((extensions) =>
        [undefined, { force_command: FORCE_COMMANDS[0] }, { source_address: ['10.20.30.0/24'] }, { source_address: ['10.0.0.0/8'] }, { source_address: ['2001:db8:20::/48'] }].map((options) =>
          parseCheckRequest({
            subject: { id: 'atm-b' }, action: 'sign', resource: { id: 'atm-b' },
            context: { ...(certType ? { cert_type: certType } : {}), ...(extensions ? { extensions } : {}), ...(options ? { critical_options: options } : {}) },
          }))));
    const section = fc.option(validCertificate, { nil: undefined });

    it('never reports as not widening a change that lets a request through or gives it a wider certificate', () => {
      let narrowingChecked = 0;
      fc.assert(fc.property(section, section, (before, after) => {
        const diff = changes(before, after);
        if (diff.some((change) => change.widening)) return;
        if (diff.length > 0) narrowingChecked++;
        const old = loadRegistry(text(withCertificate(before)));
        const now = loadRegistry(text(withCertificate(after)));
        for (const request of requests) {
          const is = decide(now, request);
          if (!is.allow) continue;
          // The same request, or (a forced command or source blocks named by the request now
          // allowed) the request without them: some certificate before was at least as wide.
          const { critical_options: _options, ...unrestricted } = request.context;
          const before = [request, { ...request, context: unrestricted }].map((r) => decide(old, r)).filter((d) => d.allow);
          const why = `${JSON.stringify(request.context)}: ${JSON.stringify([before, after, diff])}`;
          expect(before.some((was) => covers(was.grant!, is.grant!)), why).to.equal(true);
        }
      }), { numRuns: 400 });
      expect(narrowingChecked, 'narrowing-only changes should come up').to.be.above(20);
    });
  });
});
