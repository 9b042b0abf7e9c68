import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parseCheckRequestText } from '../../../src/core/check-request.js';
import { decide } from '../../../src/core/decide.js';
import { loadRegistry } from '../../../src/registry/load.js';

/**
 * A regression pin: v1 callers must see the same decision ids, reasons and messages after the
 * certificate fields (contract section 14) came in. These were recorded with `flex-auth check`
 * from the v1.0 build (main at 7cd6bf3, before any certificate code existed), one per example
 * request against each example registry; they are not output of the code under test.
 */
const EXAMPLES = new URL('../../../../examples/', import.meta.url);

const PINNED: Record<string, Record<string, readonly [id: string, reason: string, message: string | null]>> = {
  'production_registry_snapshot.json': {
    'allow-agt-state-hub-bridge.json': ['decision:17d52822f5852439', 'allowed', null],
    'allow-group-member.json': ['decision:5de930514ed0c4d5', 'allowed', null],
    'allow-iam-subject.json': ['decision:2e015774dca91f6f', 'allowed', null],
    'deny-action-not-allowed.json': ['decision:87be1ac7aef3b734', 'action_not_allowed', 'action revoke is not allowed for actor agt-state-hub-bridge (allowed: sign)'],
    'deny-actor-disabled.json': ['decision:e6a7bd38d97d9c10', 'actor_disabled', 'actor atm-log-rotate is disabled'],
    'deny-principal-not-allowed.json': ['decision:8320a63117a7c45a', 'principal_not_allowed', 'principals not allowed for actor agt-state-hub-bridge: root'],
    'deny-subject-not-allowed.json': ['decision:f58d6ca4e272ea96', 'subject_not_allowed', 'subject iam:mallory is not allowed to sign for actor agt-state-hub-bridge'],
    'deny-ttl-out-of-bounds.json': ['decision:2f7d87f97fa4a4ef', 'ttl_out_of_bounds', 'requested ttl 999h exceeds max 8h'],
    'deny-unknown-actor-resource.json': ['decision:08273748c1a06630', 'unknown_actor_resource', 'actor agt-not-in-inventory is not in the registry'],
    'deny-unsupported-resource-type.json': ['decision:7c821575742ce1b1', 'unsupported_resource_type', 'resource type k8s_secret is not supported by ssh-sign/v1 (expected ssh_actor)'],
  },
  // The template registry has none of these actors: every id differs, and still must not move.
  'registry_snapshot.json': {
    'allow-agt-state-hub-bridge.json': ['decision:5d975268502b78b6', 'unknown_actor_resource', 'actor agt-state-hub-bridge is not in the registry'],
    'allow-group-member.json': ['decision:634a37f3ca1ca3d2', 'unknown_actor_resource', 'actor atm-backup-daily is not in the registry'],
    'allow-iam-subject.json': ['decision:1c171bb511b908d2', 'unknown_actor_resource', 'actor agt-state-hub-bridge is not in the registry'],
    'deny-action-not-allowed.json': ['decision:c758b4a31ed10549', 'unknown_actor_resource', 'actor agt-state-hub-bridge is not in the registry'],
    'deny-actor-disabled.json': ['decision:b24f0f9eb93ebf78', 'unknown_actor_resource', 'actor atm-log-rotate is not in the registry'],
    'deny-principal-not-allowed.json': ['decision:334e29d7a0b8850f', 'unknown_actor_resource', 'actor agt-state-hub-bridge is not in the registry'],
    'deny-subject-not-allowed.json': ['decision:d162fa1565f2c76b', 'unknown_actor_resource', 'actor agt-state-hub-bridge is not in the registry'],
    'deny-ttl-out-of-bounds.json': ['decision:be9b2f16414e2a3d', 'unknown_actor_resource', 'actor agt-state-hub-bridge is not in the registry'],
    'deny-unknown-actor-resource.json': ['decision:b966c801c382ba87', 'unknown_actor_resource', 'actor agt-not-in-inventory is not in the registry'],
    'deny-unsupported-resource-type.json': ['decision:d07060cf4e869b43', 'unsupported_resource_type', 'resource type k8s_secret is not supported by ssh-sign/v1 (expected ssh_actor)'],
  },
};

describe('decision ids of the v1 example requests (pinned from v1.0)', () => {
  for (const [registryFile, requests] of Object.entries(PINNED)) {
    describe(registryFile, () => {
      const registry = () => loadRegistry(readFileSync(new URL(`ops-warden/${registryFile}`, EXAMPLES), 'utf8'));

      for (const [requestFile, [id, reason, message]] of Object.entries(requests)) {
        it(`${requestFile}: ${id} ${reason}`, () => {
          const request = parseCheckRequestText(readFileSync(new URL(`requests/${requestFile}`, EXAMPLES), 'utf8'));
          for (const explain of [false, true]) {
            const decision = decide(registry(), request, { explain });
            expect(decision.decision_id).to.equal(id);
            expect(decision.reason).to.equal(reason);
            expect(decision.message ?? null).to.equal(message);
          }
        });
      }
    });
  }
});
