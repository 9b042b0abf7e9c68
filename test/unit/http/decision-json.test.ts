/**
 * The check lane writes a decision's reply body by hand (`decisionJson`, src/http/check.ts).
 * Twin property test against the simple reference, `JSON.stringify`: for decisions `decide`
 * makes from well-formed requests over the production example registry (allows and every
 * denial, with and without `?explain`), and for the fail-closed refusals with any message.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { parseCheckRequest } from '../../../src/core/check-request.js';
import { decide } from '../../../src/core/decide.js';
import { decisionJson } from '../../../src/http/check.js';
import { loadRegistry } from '../../../src/registry/load.js';
import { anyGrant, decisionIdText, principalText, revisionText, v1Grant } from '../../helpers/grants.js';
import { certificateCase, PRODUCTION_TEXT, wellFormed } from '../../helpers/request-arbitraries.js';

const registry = loadRegistry(PRODUCTION_TEXT);

describe('decisionJson: the reply body of a check', () => {
  it('is JSON.stringify of the decision, for decisions made by decide (with and without explain)', () => {
    const reasons = new Set<string>();
    fc.assert(fc.property(wellFormed, fc.boolean(), (body, explain) => {
      let request;
      try {
        request = parseCheckRequest(body);
      } catch {
        return; // a body the contract rejects is answered 400, never with a decision
      }
      const decision = decide(registry, request, { explain });
      reasons.add(decision.reason);
      expect(decisionJson(decision)).to.equal(JSON.stringify(decision));
    }), { numRuns: 500 });
    // The generator reached allows and denials alike.
    expect(reasons).to.include('allowed');
    expect([...reasons].some((reason) => reason !== 'allowed')).to.equal(true);
  });

  it('is JSON.stringify of the decision for registries and requests with certificate fields', () => {
    fc.assert(fc.property(certificateCase, fc.boolean(), ({ registry: document, request }, explain) => {
      const decision = decide(loadRegistry(JSON.stringify(document)), parseCheckRequest(request), { explain });
      expect(decisionJson(decision)).to.equal(JSON.stringify(decision));
    }), { numRuns: 200 });
  });

  it('is JSON.stringify of a fail-closed refusal, whatever its message holds', () => {
    fc.assert(fc.property(fc.constantFrom('registry_unavailable', 'registry_stale'), fc.string({ unit: 'binary' }), (reason, message) => {
      const refusal = { allow: false, reason, message };
      expect(decisionJson(refusal)).to.equal(JSON.stringify(refusal));
    }));
  });

  it('writes ids, revisions and principals of their forms, and quotes a critical option as JSON.stringify does (quotes, backslashes, control and non-ASCII characters)', () => {
    const text = fc.string({ unit: 'binary', maxLength: 20 });
    fc.assert(fc.property(decisionIdText, revisionText, fc.array(principalText, { minLength: 1, maxLength: 4 }), fc.nat(), (id, revision, principals, ttl) => {
      const decision = { allow: true, reason: 'allowed', decision_id: id, registry_revision: revision, policy: 'ssh-sign/v1', grant: v1Grant(ttl, principals, id) };
      expect(decisionJson(decision)).to.equal(JSON.stringify(decision));
    }));
    fc.assert(fc.property(anyGrant(text), (grant) => {
      const decision = { allow: true, reason: 'allowed', decision_id: grant.key_id, grant };
      expect(decisionJson(decision)).to.equal(JSON.stringify(decision));
    }));
  });
});
