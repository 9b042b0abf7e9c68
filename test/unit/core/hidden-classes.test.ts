import { expect } from 'chai';
import { setFlagsFromString } from 'node:v8';
import { certificateProfile } from '../../../src/core/certificate.js';
import { parseCheckRequest } from '../../../src/core/check-request.js';
import { decide } from '../../../src/core/decide.js';
import { sshSignV1 } from '../../../src/core/policies/ssh-sign-v1.js';
import { loadRegistry } from '../../../src/registry/load.js';
import type { CompiledRegistry } from '../../../src/registry/compiled-registry.js';
import { actorEntry, registryDocument, text } from '../../fixtures/registry.js';
import type { Json } from '../../fixtures/registry.js';

/**
 * The objects a check builds share their hidden classes from one request to the next (see
 * src/core/writable.ts): Node 20's V8 gives an object built by a spread followed by more members
 * a class of its own each time, which made every check allocate new classes in the old generation.
 * V8's own `%HaveSameMap` tells; the flag only lets this file's function call it.
 */
setFlagsFromString('--allow-natives-syntax');
const haveSameClass = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
setFlagsFromString('--no-allow-natives-syntax');

/** Compares after some calls: the first few share a class all the same, while the code is cold. */
function sameClassEachTime<T extends object>(make: (i: number) => T, parts: (value: T) => object[] = (value) => [value]): void {
  const WARM = 50;
  for (let i = 0; i < WARM; i++) make(i);
  const first = parts(make(WARM));
  for (let i = WARM + 1; i < WARM + 3; i++) parts(make(i)).forEach((part, index) => expect(haveSameClass(first[index]!, part), `part ${index} of value ${i}`).to.equal(true));
}

function body(i: number, context: Json): Json {
  return { subject: { id: `iam:user-${i}` }, action: 'sign', resource: { id: `agt-${i}` }, context };
}

describe('the hidden classes of what a check builds', () => {
  let registry: CompiledRegistry;
  before(() => {
    registry = loadRegistry(text(registryDocument([0, 1, 2].map((i) => actorEntry(`agt-${i}`, { allowed_subjects: [`iam:user-${i}`] })))));
  });

  it('the helper tells two classes apart, so the checks below can fail', () => {
    expect(haveSameClass({ a: 1 }, { a: 2 })).to.equal(true);
    expect(haveSameClass({ a: 1 }, { b: 1 })).to.equal(false);
  });

  it('are shared by the requests parsed from bodies of one shape', () => {
    for (const context of [{}, { ttl: '1h' }, { ttl: 60, principals: ['deploy'], metadata: { ticket: 'T-1' } }, { cert_type: 'host', extensions: [], critical_options: { force_command: 'ls' } }]) {
      sameClassEachTime((i) => parseCheckRequest(body(i, context)), (request) => [request, request.context, request.subject, request.resource]);
    }
  });

  it('are shared by the normalized requests and certificates of requests naming certificate fields', () => {
    const context = { cert_type: 'user', extensions: ['permit-pty', 'permit-agent-forwarding'], critical_options: { source_address: ['10.0.0.0/8'] } };
    sameClassEachTime((i) => sshSignV1.prepare(parseCheckRequest(body(i, context)), registry, false), (input) => [input.normalized, input.certificate, input.certificate.critical_options]);
  });

  it('are shared by explained decisions', () => {
    sameClassEachTime((i) => decide(registry, parseCheckRequest(body(i, { ttl: '1h' })), { explain: true }));
  });

  it('are shared by the certificate profiles of actors with sections of one shape', () => {
    sameClassEachTime((i) => certificateProfile({ critical_options: { force_command: `run-${i}`, source_address: ['10.0.0.0/8'] } }).criticalOptions);
  });
});
