import { formatDuration } from '../duration.js';
import { fail, pass, skip } from '../policy.js';
import type { EvaluationInput, PolicyPackage, Rule, RuleOutcome } from '../policy.js';
import type { Actor, CheckRequest, PolicyRegistry } from '../types.js';

const RESOURCE_TYPE = 'ssh_actor';
const NAME = 'ssh-sign/v1';

/** Rules after the actor lookup have nothing to judge without an actor. */
function withActor(input: EvaluationInput, check: (actor: Actor) => RuleOutcome): RuleOutcome {
  return input.actor ? check(input.actor) : skip('no registered actor to evaluate');
}

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

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
    evaluate: (input) => withActor(input, (actor) => (actor.disabled ? fail(`actor ${actor.name} is disabled`) : pass)),
  },
  {
    name: 'action_allowed',
    reason: 'action_not_allowed',
    evaluate: (input) =>
      withActor(input, (actor) =>
        actor.actions.has(input.request.action)
          ? pass
          : fail(`action ${input.request.action} is not allowed for actor ${actor.name} (allowed: ${[...actor.actions].join(', ')})`),
      ),
  },
  {
    name: 'subject_allowed',
    reason: 'subject_not_allowed',
    evaluate: (input) =>
      withActor(input, (actor) => {
        const path = input.registry.signerPath(actor.name, input.request.subject.id);
        return path
          ? { result: 'pass', path }
          : fail(`subject ${input.request.subject.id} is not allowed to sign for actor ${actor.name}`);
      }),
  },
  {
    name: 'principals_allowed',
    reason: 'principal_not_allowed',
    evaluate: (input) =>
      withActor(input, (actor) => {
        const { principals } = input.normalized;
        if (principals.length === 0) return fail(`actor ${actor.name} has no principals to grant`);
        const refused = principals.filter((principal) => !actor.principals.includes(principal));
        return refused.length === 0
          ? pass
          : fail(`principals not allowed for actor ${actor.name}: ${refused.join(', ')}`);
      }),
  },
  {
    name: 'ttl_within_bounds',
    reason: 'ttl_out_of_bounds',
    evaluate: (input) =>
      withActor(input, (actor) => {
        const ttl = input.normalized.ttl_seconds;
        if (ttl === null) return fail('no ttl to grant');
        if (ttl > actor.ttl.max) return fail(`requested ttl ${formatDuration(ttl)} exceeds max ${formatDuration(actor.ttl.max)}`);
        if (ttl < actor.ttl.min) return fail(`requested ttl ${formatDuration(ttl)} is below min ${formatDuration(actor.ttl.min)}`);
        return pass;
      }),
  },
];

/** The SSH certificate signing policy: may this subject get a certificate for this actor? */
export const sshSignV1: PolicyPackage = {
  name: NAME,
  resourceType: RESOURCE_TYPE,
  rules,
  prepare(request: CheckRequest, registry: PolicyRegistry): EvaluationInput {
    const actor = request.resource.type === RESOURCE_TYPE ? registry.actor(request.resource.id) : undefined;
    const principals = request.context.principals ?? actor?.principals ?? [];
    return {
      request,
      registry,
      actor,
      normalized: {
        subject: request.subject.id,
        action: request.action,
        resource: { type: request.resource.type, id: request.resource.id },
        ttl_seconds: request.context.ttl ?? actor?.ttl.default ?? null,
        principals: sortedUnique(principals),
      },
    };
  },
};
