import { cidrContains, parseCidr } from '../cidr.js';
import type { Cidr } from '../cidr.js';
import { criticalOptionsOf, DEFAULT_CERTIFICATE_PROFILE, defaultExtensionsFor, sameList, sortedUnique } from '../certificate.js';
import type { CertificateProfile, CriticalOptions, RequestedCertificate } from '../certificate.js';
import { formatDuration } from '../duration.js';
import { fail, pass, skip } from '../policy.js';
import type { EvaluationInput, PolicyPackage, Rule, RuleOutcome } from '../policy.js';
import { SSH_ACTOR as RESOURCE_TYPE } from '../patterns.js';
import type { Actor, CheckRequest, NormalizedRequest, PolicyRegistry } from '../types.js';
import type { Writable } from '../writable.js';

const NAME = 'ssh-sign/v1';

/** What the rules after the actor lookup answer when there is no actor to judge. */
const NO_ACTOR: RuleOutcome = Object.freeze(skip('no registered actor to evaluate'));

function listed(values: readonly string[]): string {
  return values.length === 0 ? 'none' : values.join(', ');
}

/** The requested `source_address` blocks that lie inside none of the actor's. */
function outsideSources(requested: readonly string[], actor: Actor): string[] {
  const networks = actor.certificate.sourceNetworks;
  return requested.filter((text) => {
    const block = parseCidr(text) as Cidr;
    return !networks.some((network) => cidrContains(network, block));
  });
}

/** Why the requested critical options widen the actor's, or undefined when they equal or narrow them. */
function criticalOptionProblem(requested: CriticalOptions, actor: Actor): string | undefined {
  const own = actor.certificate.criticalOptions;
  if (requested.force_command !== undefined && requested.force_command !== own.force_command) {
    // The command itself stays out of the message: a command line may carry arguments not meant for logs.
    return own.force_command === undefined
      ? `force_command not allowed for actor ${actor.name}: its registry entry names no forced command`
      : `force_command differs from the one actor ${actor.name}'s registry entry names`;
  }
  if (requested.source_address !== undefined && own.source_address !== undefined) {
    const outside = outsideSources(requested.source_address, actor);
    if (outside.length > 0) return `source_address not within actor ${actor.name}'s (${own.source_address.join(', ')}): ${outside.join(', ')}`;
  }
  return undefined;
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
      // Stryker disable next-line ConditionalExpression: signerPath and isSigner agree (property test); the fast one is only skipped
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
    name: 'cert_type_allowed',
    reason: 'cert_type_not_allowed',
    evaluate: ({ actor, certificate }) => {
      if (!actor) return NO_ACTOR;
      const { types } = actor.certificate;
      return types.includes(certificate.cert_type)
        ? pass
        : fail(`certificate type ${certificate.cert_type} is not allowed for actor ${actor.name} (allowed: ${listed(types)})`);
    },
  },
  {
    name: 'extensions_allowed',
    reason: 'extension_not_allowed',
    evaluate: ({ actor, certificate }) => {
      if (!actor) return NO_ACTOR;
      const { extensions } = certificate;
      // PROTOCOL.certkeys defines no extensions for host certificates.
      if (certificate.cert_type === 'host' && extensions.length > 0) return fail(`host certificates carry no extensions (requested: ${extensions.join(', ')})`);
      const allowed = actor.certificate.allowedExtensions;
      for (const extension of extensions) {
        if (!allowed.includes(extension)) {
          const refused = extensions.filter((e) => !allowed.includes(e));
          return fail(`extensions not allowed for actor ${actor.name}: ${refused.join(', ')} (allowed: ${listed(allowed)})`);
        }
      }
      return pass;
    },
  },
  {
    name: 'critical_options_allowed',
    reason: 'critical_option_not_allowed',
    evaluate: ({ actor, request, certificate }) => {
      if (!actor) return NO_ACTOR;
      const requested = request.context.critical_options;
      const problem = requested === undefined ? undefined : criticalOptionProblem(requested, actor);
      if (problem !== undefined) return fail(problem);
      if (certificate.cert_type !== 'host') return pass;
      // PROTOCOL.certkeys defines no critical options for host certificates: one would lose the actor's.
      const options = Object.keys(certificate.critical_options);
      return options.length === 0 ? pass : fail(`host certificates carry no critical options (actor ${actor.name} requires: ${options.join(', ')})`);
    },
  },
  {
    name: 'ttl_within_bounds',
    reason: 'ttl_out_of_bounds',
    evaluate: ({ actor, normalized }) => {
      if (!actor) return NO_ACTOR;
      const ttl = normalized.ttl_seconds;
      // Stryker disable next-line ConditionalExpression,StringLiteral: the last line of defence; every actor has a default ttl, so no input reaches it
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
    const { context } = request;
    const principals = context.principals ?? actor?.principals ?? [];
    const normalized: NormalizedRequest = {
      subject: request.subject.id,
      action: request.action,
      resource: request.resource,
      ttl_seconds: context.ttl ?? actor?.ttl.default ?? null,
      principals: sortedUnique(principals),
    };
    const profile = actor?.certificate ?? DEFAULT_CERTIFICATE_PROFILE;
    // A v1 request names none of the certificate: the actor's precomputed defaults, nothing allocated.
    // Stryker disable next-line ConditionalExpression,BlockStatement: the fast path; a request naming none of the certificate gets the same certificate and id from the general path
    if (context.cert_type === undefined && context.extensions === undefined && context.critical_options === undefined) {
      return { request, registry, actor, explain, normalized, certificate: profile.unrequested };
    }
    const certificate = requestedCertificate(request, profile);
    return { request, registry, actor, explain, normalized: withCertificate(normalized, certificate, profile), certificate };
  },
};

/** The certificate a request asks for: what it names, the actor's defaults for the rest. */
function requestedCertificate({ context }: CheckRequest, profile: CertificateProfile): RequestedCertificate {
  const certType = context.cert_type ?? 'user';
  const own = profile.criticalOptions;
  const asked = context.critical_options;
  const forceCommand = asked?.force_command ?? own.force_command;
  const sourceAddress = asked?.source_address === undefined ? own.source_address : sortedUnique(asked.source_address);
  return {
    cert_type: certType,
    extensions: context.extensions === undefined ? defaultExtensionsFor(profile, certType) : sortedUnique(context.extensions),
    critical_options: criticalOptionsOf(forceCommand, sourceAddress),
  };
}

/**
 * The normalized request with each certificate field that differs from what a request without
 * it gets: so a v1 request keeps its decision id, and one that spells out a default gets the
 * id of one that leaves it out (as a ttl of `1h` and `3600` do).
 */
function withCertificate(normalized: NormalizedRequest, certificate: RequestedCertificate, profile: CertificateProfile): NormalizedRequest {
  const own = profile.criticalOptions;
  const options = certificate.critical_options;
  // A source_address list is never empty, so an absent one and [] need not be told apart.
  const optionsDiffer = options.force_command !== own.force_command || !sameList(options.source_address ?? [], own.source_address ?? []);
  // A copy made member by member, not spread: see `Writable` in src/core/writable.ts.
  const withFields: Writable<NormalizedRequest> = Object.assign({}, normalized);
  if (certificate.cert_type !== 'user') withFields.cert_type = certificate.cert_type;
  if (!sameList(certificate.extensions, defaultExtensionsFor(profile, certificate.cert_type))) withFields.extensions = certificate.extensions;
  if (optionsDiffer) withFields.critical_options = options;
  return withFields;
}
