import { expect } from 'chai';
import fc from 'fast-check';
import { parseCheckRequest } from '../../../src/core/check-request.js';
import { decide } from '../../../src/core/decide.js';
import { DENY_REASONS } from '../../../src/core/types.js';
import { loadRegistry } from '../../../src/registry/load.js';
import { contains, parseBlock } from '../../helpers/cidr-oracle.js';
import { expectedCertificate, expectedReason } from '../../helpers/policy-oracle.js';
import { certificateCase } from '../../helpers/request-arbitraries.js';
import type { Json } from '../../helpers/request-arbitraries.js';

/**
 * The certificate rules over generated registries and requests: the service decides as the
 * reference policy does, and, checked on their own, no allowed grant is ever wider than the
 * actor's registry entry.
 */

const RUNS = 1500;

function decided({ registry, request }: { registry: Json; request: Json }, explain = false) {
  return decide(loadRegistry(JSON.stringify(registry)), parseCheckRequest(request), { explain });
}

function actorOf(registry: Json, request: Json): Json {
  return (registry.actors as Json[]).find((actor) => actor.name === request.resource.id)!;
}

describe('the certificate rules, over generated registries and requests', () => {
  it('give the reason the reference policy gives, each reason often', () => {
    const seen = new Map<string, number>();
    fc.assert(fc.property(certificateCase, (generated) => {
      const decision = decided(generated);
      const expected = expectedReason(generated.registry, generated.request);
      expect(decision.reason, JSON.stringify(generated)).to.equal(expected);
      seen.set(expected, (seen.get(expected) ?? 0) + 1);
    }), { numRuns: RUNS });
    for (const reason of ['allowed', 'principal_not_allowed', 'cert_type_not_allowed', 'extension_not_allowed', 'critical_option_not_allowed', 'ttl_out_of_bounds']) {
      expect(seen.get(reason) ?? 0, `${reason} in ${JSON.stringify([...seen])}`).to.be.greaterThan(RUNS / 150);
    }
  });

  it('grant exactly the certificate the reference policy describes, keyed by the decision id', () => {
    fc.assert(fc.property(certificateCase, (generated) => {
      const decision = decided(generated);
      if (!decision.allow) return;
      const actor = actorOf(generated.registry, generated.request);
      const context: Json = generated.request.context ?? {};
      expect(decision.grant, JSON.stringify(generated)).to.deep.equal({
        ttl_seconds: decision.grant!.ttl_seconds,
        principals: [...new Set<string>(context.principals ?? actor.principals)].sort(),
        ...expectedCertificate(actor, context),
        key_id: decision.decision_id,
      });
    }), { numRuns: RUNS });
  });

  it('never allow a grant wider than the actor: extensions, critical options, type, principals, ttl', () => {
    let allowed = 0;
    fc.assert(fc.property(certificateCase, (generated) => {
      const decision = decided(generated);
      if (!decision.allow) return;
      allowed++;
      const grant = decision.grant!;
      const actor = actorOf(generated.registry, generated.request);
      const section: Json = actor.certificate ?? {};
      const own: Json = section.critical_options ?? {};
      const why = JSON.stringify(generated);
      expect(grant.principals, why).to.not.be.empty;
      expect(actor.principals, why).to.include.members([...grant.principals]);
      expect(grant.ttl_seconds, why).to.be.within(300, 8 * 3600);
      expect(section.types ?? ['user'], why).to.include(grant.cert_type);
      expect(section.extensions?.allowed ?? ['permit-pty'], why).to.include.members([...grant.extensions]);
      expect(grant.critical_options.force_command, why).to.equal(own.force_command);
      if (own.source_address !== undefined) {
        expect(grant.critical_options.source_address, why).to.not.be.empty;
        for (const inner of grant.critical_options.source_address!) {
          expect((own.source_address as string[]).some((outer) => contains(parseBlock(outer), parseBlock(inner))), `${inner} in ${why}`).to.equal(true);
        }
      }
      if (grant.cert_type === 'host') expect([grant.extensions, grant.critical_options], why).to.deep.equal([[], {}]);
      expect(grant.extensions, why).to.deep.equal([...grant.extensions].sort());
    }), { numRuns: RUNS });
    expect(allowed).to.be.greaterThan(RUNS / 50);
  });

  it('trace every rule in the contract order, with the same decision as without a trace', () => {
    fc.assert(fc.property(certificateCase, (generated) => {
      const plain = decided(generated);
      const explained = decided(generated, true);
      expect(explained.trace!.map((entry) => entry.reason)).to.deep.equal([...DENY_REASONS]);
      const { trace, ...rest } = explained;
      expect(rest).to.deep.equal(plain);
      const firstFailure = trace!.find((entry) => entry.result !== 'pass');
      expect(firstFailure?.reason ?? 'allowed').to.equal(plain.reason);
    }), { numRuns: 500 });
  });

  it('give a request that spells out what it would get by default the id of one that does not', () => {
    fc.assert(fc.property(certificateCase, (generated) => {
      const decision = decided(generated);
      if (!decision.allow) return;
      const { cert_type: certType, extensions, critical_options: options } = decision.grant!;
      const spelled = { ...generated.request, context: { ...(generated.request.context ?? {}), cert_type: certType, extensions, critical_options: options } };
      const bare = { ...generated.request, context: { ...(generated.request.context ?? {}) } };
      delete bare.context.cert_type;
      delete bare.context.extensions;
      delete bare.context.critical_options;
      const again = decided({ registry: generated.registry, request: spelled });
      expect(again.decision_id).to.equal(decision.decision_id);
      const unasked = decided({ registry: generated.registry, request: bare });
      const same = JSON.stringify(unasked.grant && { ...unasked.grant, key_id: '' }) === JSON.stringify({ ...decision.grant, key_id: '' });
      expect(unasked.decision_id === decision.decision_id).to.equal(same);
    }), { numRuns: 500 });
  });
});
