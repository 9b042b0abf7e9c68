/**
 * The reply, the decision line and the decision id's input write some strings between quotes
 * without escaping them (src/core/canonical-json.ts, "Plain by construction"). That is only
 * right while every form and list those strings come from admits nothing JSON would escape:
 * this checks each of them, character by character, so widening one fails here first.
 */
import { expect } from 'chai';
import { CERT_EXTENSIONS, CERT_TYPES } from '../../../src/core/certificate.js';
import { PLAIN_STRING } from '../../../src/core/canonical-json.js';
import { DECISION_ID_PATTERN, decisionId } from '../../../src/core/decision-id.js';
import { PRINCIPAL_PATTERN } from '../../../src/core/patterns.js';
import { sshSignV1 } from '../../../src/core/policies/ssh-sign-v1.js';
import { DENY_REASONS } from '../../../src/core/types.js';
import type { NormalizedRequest } from '../../../src/core/types.js';
import { REQUEST_ID_PATTERN, requestIdFor } from '../../../src/http/request-id.js';
import { CompiledRegistry } from '../../../src/registry/compiled-registry.js';
import { loadRegistry } from '../../../src/registry/load.js';
import { groupGraphOfDocument } from '../../../src/registry/references.js';
import { REVISION_PATTERN, revisionOf } from '../../../src/registry/revision.js';
import { makeRegistry } from '../../helpers/documents.js';

/** Every UTF-16 code unit a pattern accepts at the place `make` puts it. */
function acceptedUnits(pattern: RegExp, make: (unit: string) => string): string[] {
  const accepted: string[] = [];
  for (let code = 0; code <= 0xffff; code++) {
    const unit = String.fromCharCode(code);
    if (pattern.test(make(unit))) accepted.push(unit);
  }
  return accepted;
}

/** What JSON.stringify would escape, or a quote or backslash, among `units`. */
function escaped(units: string[]): string[] {
  return units.filter((unit) => !PLAIN_STRING.test(unit) || JSON.stringify(unit) !== `"${unit}"`);
}

describe('strings written without escaping are plain by construction', () => {
  const forms: [string, RegExp, (unit: string) => string, number][] = [
    // [name, pattern, a text that matches when the unit is allowed where it stands, units expected at least]
    ['principal', PRINCIPAL_PATTERN, (unit) => `a${unit}b`, 60],
    ['request id', REQUEST_ID_PATTERN, (unit) => `a${unit}b`, 60],
    ['decision id', DECISION_ID_PATTERN, (unit) => `decision:${'0'.repeat(15)}${unit}`, 16],
    ['registry revision', REVISION_PATTERN, (unit) => `sha256:${'0'.repeat(63)}${unit}`, 16],
  ];
  for (const [name, pattern, make, atLeast] of forms) {
    it(`a ${name} admits no character JSON escapes`, () => {
      const accepted = acceptedUnits(pattern, make);
      // The probe reaches the pattern's character class: else it would prove nothing.
      expect(accepted.length, `${name}: characters accepted`).to.be.at.least(atLeast);
      expect(escaped(accepted), name).to.deep.equal([]);
    });
  }

  it('the probe finds a pattern that lets a quote or a control character through', () => {
    expect(escaped(acceptedUnits(/^a[a-z"]b$/, (unit) => `a${unit}b`))).to.deep.equal(['"']);
    expect(escaped(acceptedUnits(/^a[\s\S]b$/, (unit) => `a${unit}b`))).to.include.members(['\n', '\\', '"', '\u2028']);
  });

  it('reasons, the policy name, certificate types and extensions are plain', () => {
    const constants = [...DENY_REASONS, 'allowed', 'registry_unavailable', 'registry_stale', sshSignV1.name, ...CERT_TYPES, ...CERT_EXTENSIONS];
    expect(constants.filter((value) => JSON.stringify(value) !== `"${value}"`)).to.deep.equal([]);
  });

  it('made ids have their forms: a request id made for a call, a decision id, a revision', () => {
    for (const given of [undefined, '', 'has "quotes"', 'x'.repeat(129), ['a', 'b']]) expect(requestIdFor(given)).to.match(REQUEST_ID_PATTERN);
    const request: NormalizedRequest = { subject: 'a"\\b', action: 'sign\n', resource: { type: 'ssh_actor', id: 'x' }, principals: ['p'], ttl_seconds: null };
    expect(decisionId('ssh-sign/v1', 'sha256:x', request)).to.match(DECISION_ID_PATTERN);
    expect(revisionOf({ any: 'document "with" quotes' })).to.match(REVISION_PATTERN);
  });

  it('a compiled registry refuses a revision of another form, which it would write unescaped', () => {
    const text = JSON.stringify(makeRegistry({ name: 'plain' }));
    const loaded = loadRegistry(text);
    expect(loaded.revision).to.match(REVISION_PATTERN);
    const document = JSON.parse(text) as ConstructorParameters<typeof CompiledRegistry>[0];
    const groups = groupGraphOfDocument({ relationships: [] });
    expect(() => new CompiledRegistry(document, 'sha256:"}', groups)).to.throw(/a registry revision is sha256: and 64 hex digits \(got "sha256:\\"}"\)/);
    expect(() => new CompiledRegistry(document, loaded.revision, groups)).not.to.throw();
  });
});
