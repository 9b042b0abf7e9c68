import fc from 'fast-check';
import type { Json } from '../fixtures/registry.js';
import { actorEntry, member, registryDocument, signer } from '../fixtures/registry.js';

/**
 * Registries of a given shape and size, for complexity checks: each kind stresses one part of
 * loading (group nesting, group width, actor count, error count, cycles).
 */
export const SHAPES = ['chain', 'wide', 'actors', 'bad-actors', 'cycles'] as const;
export type Shape = (typeof SHAPES)[number];

export function registryOfShape(shape: Shape, size: number): Json {
  switch (shape) {
    case 'chain': {
      // size groups, each nested in the one before and with a member of its own.
      const relationships: Json[] = [signer('agt-a', 'group:g0#member')];
      for (let i = 0; i < size; i++) {
        relationships.push(member(`g${i}`, `iam:u${i}`));
        if (i + 1 < size) relationships.push(member(`g${i}`, `group:g${i + 1}#member`));
      }
      return registryDocument([actorEntry('agt-a')], relationships);
    }
    case 'wide': {
      // One group with size members, nested in ten groups that each grant an actor.
      const relationships: Json[] = Array.from({ length: size }, (_, i) => member('all', `iam:u${i}`));
      const actors = Array.from({ length: 10 }, (_, i) => actorEntry(`agt-${i}`, { allowed_subjects: [`group:top${i}#member`] }));
      for (let i = 0; i < 10; i++) relationships.push(member(`top${i}`, 'group:all#member'));
      return registryDocument(actors, relationships);
    }
    case 'actors':
      return registryDocument(Array.from({ length: size }, (_, i) => actorEntry(`agt-${i}`)));
    case 'bad-actors':
      return registryDocument(Array.from({ length: size }, (_, i) => actorEntry(`agt-${i}`, { type: 'robot', principals: ['bad principal'] })));
    case 'cycles': {
      // size / 2 two-group cycles, each one error.
      const relationships: Json[] = [];
      for (let i = 0; i < size / 2; i++) relationships.push(member(`a${i}`, `group:b${i}#member`), member(`b${i}`, `group:a${i}#member`));
      return registryDocument([actorEntry('agt-a')], relationships);
    }
  }
}

/**
 * Every subject a shape's registry grants through groups, for checks on it: the ones a
 * load must make findable, whatever it precomputes.
 */
export function groupSubjects(shape: Shape, size: number): string[] {
  return shape === 'chain' || shape === 'wide' ? Array.from({ length: size }, (_, i) => `iam:u${i}`) : [];
}

/** OpenSSH's extension names (PROTOCOL.certkeys), written out here rather than taken from src/. */
export const EXTENSION_NAMES = [
  'no-touch-required', 'permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty', 'permit-user-rc',
] as const;

/** Source blocks that nest (10.0.0.0/8 > 10.20.0.0/16 > 10.20.30.0/24), sit beside each other, or are IPv6. */
export const SOURCE_BLOCKS = [
  '0.0.0.0/0', '10.0.0.0/8', '10.20.0.0/16', '10.20.30.0/24', '10.21.0.0/16', '192.0.2.0/24', '192.0.2.128/25',
  '::/0', '2001:db8::/32', '2001:db8:20::/48', '2001:db8:21::/48',
] as const;

export const FORCE_COMMANDS = ['/usr/local/bin/backup-run', '/usr/bin/rsync --server', 'uptime'] as const;

/**
 * Valid `certificate` sections of every kind: each part present or not, defaults a subset of
 * the allowed extensions, source blocks distinct.
 */
export const validCertificate: fc.Arbitrary<Json> = fc.record({
  types: fc.constantFrom(['user'], ['host'], ['user', 'host'], ['host', 'user']),
  extensions: fc.uniqueArray(fc.constantFrom(...EXTENSION_NAMES), { maxLength: 6 }).chain((allowed) =>
    fc.record({ allowed: fc.constant(allowed), default: fc.subarray(allowed) }, { requiredKeys: ['allowed'] })),
  critical_options: fc.record({
    force_command: fc.constantFrom(...FORCE_COMMANDS),
    source_address: fc.uniqueArray(fc.constantFrom(...SOURCE_BLOCKS), { minLength: 1, maxLength: 3 }),
  }, { requiredKeys: [] }),
}, { requiredKeys: [] });

/** Values that break one rule of the section each: for checking both validators refuse them alike. */
export const invalidCertificateParts: fc.Arbitrary<Json> = fc.constantFrom<Json>(
  { types: [] }, { types: ['user', 'user'] }, { types: ['ca'] }, { types: 'user' },
  { extensions: { default: ['permit-pty'] } }, { extensions: { allowed: ['permit-pty'], default: ['permit-agent-forwarding'] } },
  { extensions: { allowed: ['permit-pty', 'permit-pty'] } }, { extensions: { allowed: ['login@openssh.com'] } },
  { extensions: { allowed: ['Permit-pty'] } }, { extensions: { allowed: [], extra: [] } },
  { critical_options: { force_command: '' } }, { critical_options: { force_command: 'a\nb' } }, { critical_options: { force_command: 'a\u202eb' } },
  { critical_options: { force_command: 'x'.repeat(1025) } }, { critical_options: { source_address: [] } },
  { critical_options: { source_address: ['10.0.0.1'] } }, { critical_options: { source_address: ['10.0.0.1/8'] } },
  { critical_options: { source_address: ['10.0.0.0/8', '10.0.0.0/8'] } }, { critical_options: { 'source-address': ['10.0.0.0/8'] } },
  { critical_options: { verify_required: true } }, { cert_type: 'user' },
);
