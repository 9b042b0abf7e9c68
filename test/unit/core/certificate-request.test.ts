import { expect } from 'chai';
import { fastCheckRequest, parseCheckRequest } from '../../../src/core/check-request.js';
import { InvalidRequestError } from '../../../src/core/errors.js';
import type { ErrorDetail } from '../../../src/core/errors.js';

/** The certificate fields of a check request's `context`, and the principal rule they sit beside. */

function body(context: Record<string, unknown>): Record<string, unknown> {
  return { subject: { id: 'iam:x' }, action: 'sign', resource: { id: 'agt-a' }, context };
}

function refusal(value: unknown): ErrorDetail[] {
  try {
    parseCheckRequest(value);
  } catch (error) {
    if (error instanceof InvalidRequestError) return [...error.details];
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

function lines(context: Record<string, unknown>): string[] {
  return refusal(body(context)).map((d) => `${d.path}: ${d.message}`);
}

describe('the certificate fields of a check request', () => {
  it('are taken as given when valid, by the fast path and the schema alike', () => {
    const context = { cert_type: 'host', extensions: ['permit-pty'], critical_options: { force_command: 'ls -l', source_address: ['10.0.0.0/8', '::/0'] } };
    const request = parseCheckRequest(body(context));
    expect(request.context).to.deep.equal(context);
    expect(fastCheckRequest(body(context))).to.deep.equal(request);
    expect(parseCheckRequest(body({ extensions: [] })).context).to.deep.equal({ extensions: [] });
  });

  it('are absent from the request when not given', () => {
    expect(parseCheckRequest(body({})).context).to.deep.equal({});
  });

  it('refuse an unknown type, unknown, vendor and duplicate extensions, each at its path', () => {
    expect(lines({ cert_type: 'ca', extensions: ['permit-pty', 'login@openssh.com', 'permit-pty', 'PERMIT-PTY'] })).to.have.members([
      'context.cert_type: must be one of user, host',
      'context.extensions[1]: must be one of no-touch-required, permit-X11-forwarding, permit-agent-forwarding, permit-port-forwarding, permit-pty, permit-user-rc',
      'context.extensions[2]: duplicate extension permit-pty (first at index 0)',
      'context.extensions[3]: must be one of no-touch-required, permit-X11-forwarding, permit-agent-forwarding, permit-port-forwarding, permit-pty, permit-user-rc',
    ]);
  });

  it('refuse bad critical options, each at its path', () => {
    expect(lines({ critical_options: { force_command: 'a\u0000b', source_address: ['10.0.0.1/8', '10.0.0.0/8', '10.0.0.0/8'], permit_pty: true } })).to.have.members([
      'context.critical_options.permit_pty: unknown key',
      'context.critical_options.force_command: must not contain control or invisible characters',
      'context.critical_options.source_address[0]: must be a CIDR block such as 10.0.0.0/8 or 2001:db8::/32 (host bits are set after /8; sshd refuses such a block)',
      'context.critical_options.source_address[2]: duplicate source address 10.0.0.0/8 (first at index 1)',
    ]);
    expect(lines({ critical_options: { source_address: [] } })).to.deep.equal(['context.critical_options.source_address: must not be empty (omit it for no source restriction)']);
    expect(lines({ critical_options: 'force' })).to.deep.equal(['context.critical_options: must be an object']);
  });

  it('judge a huge extensions or source list by its first entries past the limit only', () => {
    const extensions = Array.from({ length: 30_000 }, (_, i) => (i === 100 ? 5 : 'permit-pty'));
    expect(refusal(body({ extensions })).map((d) => d.path)).to.include('context.extensions').and.not.include('context.extensions[100]');
    const sources = Array.from({ length: 30_000 }, (_, i) => `10.${i % 256}.0.0/16`);
    expect(refusal(body({ critical_options: { source_address: sources } })).map((d) => d.message)).to.include('must have at most 64 entries');
  });
});

describe('principals, in requests and registries (1-256 of [A-Za-z0-9._@-])', () => {
  const HOSTILE: [string, string][] = [
    ['a comma (sshd splits at it)', 'deploy,root'],
    ['a wildcard', '*'],
    ['a wildcard inside', 'deploy*'],
    ['a question mark', 'deplo?'],
    ['a space', 'deploy root'],
    ['a tab', 'deploy\troot'],
    ['a newline', 'deploy\nroot'],
    ['a NUL', 'deploy\u0000'],
    ['an escape', 'deploy\u001b[0m'],
    ['DEL', 'deploy\u007f'],
    ['a zero-width space', 'deploy\u200b'],
    ['a right-to-left override', 'deploy\u202e'],
    ['a non-ASCII letter', 'déploy'],
    ['a full-width letter', 'ｄeploy'],
    ['an emoji', 'deploy😀'],
    ['an empty string', ''],
    ['257 characters', 'a'.repeat(257)],
    ['a negation', '!deploy'],
    ['a slash', 'deploy/root'],
    ['a colon', 'deploy:root'],
  ];

  for (const [label, principal] of HOSTILE) {
    it(`refuses ${label} in a request, at its path`, () => {
      expect([...new Set(refusal(body({ principals: ['ok', principal] })).map((d) => d.path))]).to.deep.equal(['context.principals[1]']);
      expect(fastCheckRequest(body({ principals: ['ok', principal] }))).to.equal(undefined);
    });
  }

  it('accepts every allowed character, and exactly 256 of them', () => {
    const principals = ['ABCXYZabcxyz0189._@-', 'a'.repeat(256), 'svc@host.example-1'];
    expect(parseCheckRequest(body({ principals })).context.principals).to.deep.equal(principals);
  });

  it('refuses an empty principal list', () => {
    expect(lines({ principals: [] })).to.deep.equal(['context.principals: must not be empty (omit it to request all of the actor\'s principals)']);
  });

  it('refuses the same hostile forms in a registry actor, at their paths', async () => {
    const { validateRegistry } = await import('../../../src/registry/load.js');
    const { actorEntry, registryDocument } = await import('../../fixtures/registry.js');
    for (const [label, principal] of HOSTILE) {
      const found = validateRegistry(registryDocument([actorEntry('agt-a', { principals: ['ok', principal] })])).map((d) => d.path);
      expect([...new Set(found)], label).to.deep.equal(['actors[0].principals[1]']);
    }
  });
});
