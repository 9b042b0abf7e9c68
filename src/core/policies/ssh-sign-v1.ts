import { formatDuration } from '../duration.js';
import { fail, pass, skip } from '../policy.js';
import type { EvaluationInput, PolicyPackage, Rule, RuleOutcome } from '../policy.js';
import { SSH_ACTOR as RESOURCE_TYPE } from '../patterns.js';
import type { CheckRequest, PolicyRegistry } from '../types.js';

const NAME = 'ssh-sign/v1';

/** What the rules after the actor lookup answer when there is no actor to judge. */
const NO_ACTOR: RuleOutcome = Object.freeze(skip('no registered actor to evaluate'));

/** Sorted and de-duplicated; a list that already is (one principal, usually) is kept as it is. */
function sortedUnique(values: readonly string[]): readonly string[] {
  for (let i = 1; i < values.length; i++) {
    if (!(values[i - 1]! < values[i]!)) return [...new Set(values)].sort();
  }
  return values;
}

// Plain loops and no closures per call: these run on every check.
const rules: readonly Rule[] = [
  {
    name: 'resource_type_supported',
    reason: 'unsupported_resource_type',
    evaluate: ({ request }) =>
      request.resource.type === RESOURCE_TYPE
        ? pass
        : fail(`resource type ${request.resource.type} is not supported by ${NAME} (expected ${RESOURCE_TYPE})`),
  },
  {
    name: 'actor_registered',
    reason: 'unknown_actor_resource',
    evaluate: ({ request, actor }) => {
      if (actor) return pass;
      if (request.resource.type !== RESOURCE_TYPE) return skip(`resource is not an ${RESOURCE_TYPE}`);
      return fail(`actor ${request.resource.id} is not in the registry`);
    },
  },
  {
    name: 'actor_enabled',
    reason: 'actor_disabled',
    evaluate: ({ actor }) => {
      if (!actor) return NO_ACTOR;
      return actor.disabled ? fail(`actor ${actor.name} is disabled`) : pass;
    },
  },
  {
    name: 'action_allowed',
    reason: 'action_not_allowed',
    evaluate: ({ actor, request }) => {
      if (!actor) return NO_ACTOR;
      return actor.actions.has(request.action)
        ? pass
        : fail(`action ${request.action} is not allowed for actor ${actor.name} (allowed: ${[...actor.actions].join(', ')})`);
    },
  },
  {
    name: 'subject_allowed',
    reason: 'subject_not_allowed',
    evaluate: ({ actor, request, registry, explain }) => {
      if (!actor) return NO_ACTOR;
      const subject = request.subject.id;
      const refused = () => fail(`subject ${subject} is not allowed to sign for actor ${actor.name}`);
      if (!explain) return registry.isSigner(actor.name, subject) ? pass : refused();
      const path = registry.signerPath(actor.name, subject);
      return path ? { result: 'pass', path } : refused();
    },
  },
  {
    name: 'principals_allowed',
    reason: 'principal_not_allowed',
    evaluate: ({ actor, normalized }) => {
      if (!actor) return NO_ACTOR;
      const { principals } = normalized;
      if (principals.length === 0) return fail(`actor ${actor.name} has no principals to grant`);
      for (const principal of principals) {
        if (!actor.principals.includes(principal)) {
          const refused = principals.filter((p) => !actor.principals.includes(p));
          return fail(`principals not allowed for actor ${actor.name}: ${refused.join(', ')}`);
        }
      }
      return pass;
    },
  },
  {
    name: 'ttl_within_bounds',
    reason: 'ttl_out_of_bounds',
    evaluate: ({ actor, normalized }) => {
      if (!actor) return NO_ACTOR;
      const ttl = normalized.ttl_seconds;
      if (ttl === null) return fail('no ttl to grant');
      if (ttl > actor.ttl.max) return fail(`requested ttl ${formatDuration(ttl)} exceeds max ${formatDuration(actor.ttl.max)}`);
      if (ttl < actor.ttl.min) return fail(`requested ttl ${formatDuration(ttl)} is below min ${formatDuration(actor.ttl.min)}`);
      return pass;
    },
  },
];

/** The SSH certificate signing policy: may this subject get a certificate for this actor? */
export const sshSignV1: PolicyPackage = {
  name: NAME,
  resourceType: RESOURCE_TYPE,
  rules,
  prepare(request: CheckRequest, registry: PolicyRegistry, explain: boolean): EvaluationInput {
    const actor = request.resource.type === RESOURCE_TYPE ? registry.actor(request.resource.id) : undefined;
    const principals = request.context.principals ?? actor?.principals ?? [];
    return {
      request,
      registry,
      actor,
      explain,
      normalized: {
        subject: request.subject.id,
        action: request.action,
        resource: request.resource,
        ttl_seconds: request.context.ttl ?? actor?.ttl.default ?? null,
        principals: sortedUnique(principals),
      },
    };
  },
};
