/**
 * A reference implementation of ssh-sign/v1, written from the contract and independent of
 * src/: a plain graph walk instead of the compiled index. Property tests compare every
 * decision the service makes with this one.
 */

import { contains, parseBlock } from './cidr-oracle.js';

type Json = Record<string, any>;

function seconds(value: unknown): number {
  if (typeof value === 'number') return value;
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(String(value))!;
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

/** Subjects that may sign for `actor`: allowed_subjects and signer tuples, usersets expanded. */
export function signers(registry: Json, actor: Json): Set<string> {
  const relationships: Json[] = registry.relationships ?? [];
  const found = new Set<string>();
  const seenGroups = new Set<string>();
  const pending: string[] = [
    ...(actor.allowed_subjects ?? []),
    ...relationships.filter((r) => r.object === `actor:${actor.name}` && r.relation === 'signer').map((r) => r.subject),
  ];
  while (pending.length > 0) {
    const subject = pending.pop()!;
    const group = /^group:(.+)#member$/.exec(subject)?.[1];
    if (group === undefined) {
      found.add(subject);
    } else if (!seenGroups.has(group)) {
      seenGroups.add(group);
      pending.push(...relationships.filter((r) => r.object === `group:${group}` && r.relation === 'member').map((r) => r.subject));
    }
  }
  return found;
}

/** The certificate a request asks for, the actor's section (or the contract's defaults) filling in what it leaves out. */
export function expectedCertificate(actor: Json, context: Json): { cert_type: string; extensions: string[]; critical_options: Json } {
  const section: Json = actor.certificate ?? {};
  const certType: string = context.cert_type ?? 'user';
  const defaults: string[] = certType === 'host' ? [] : section.extensions ? section.extensions.default ?? [] : ['permit-pty'];
  const own: Json = section.critical_options ?? {};
  const asked: Json = context.critical_options ?? {};
  const options: Json = {};
  const forceCommand = asked.force_command ?? own.force_command;
  const sources = asked.source_address ?? own.source_address;
  if (forceCommand !== undefined) options.force_command = forceCommand;
  if (sources !== undefined) options.source_address = [...new Set<string>(sources)].sort();
  return { cert_type: certType, extensions: [...new Set<string>(context.extensions ?? defaults)].sort(), critical_options: options };
}

/**
 * The reason the contract gives this (already validated) request against this (valid)
 * registry: the first rule, in the contract's order, that it breaks, else `allowed`.
 */
export function expectedReason(registry: Json, request: Json): string {
  if ((request.resource.type ?? 'ssh_actor') !== 'ssh_actor') return 'unsupported_resource_type';
  const actor = (registry.actors as Json[]).find((a) => a.name === request.resource.id);
  if (!actor) return 'unknown_actor_resource';
  if (actor.disabled === true) return 'actor_disabled';
  if (!(actor.actions ?? ['sign']).includes(request.action)) return 'action_not_allowed';
  if (!signers(registry, actor).has(request.subject.id)) return 'subject_not_allowed';
  const context: Json = request.context ?? {};
  const principals: string[] = context.principals ?? actor.principals;
  if (!principals.every((p) => actor.principals.includes(p))) return 'principal_not_allowed';
  const section: Json = actor.certificate ?? {};
  const certificate = expectedCertificate(actor, context);
  if (!(section.types ?? ['user']).includes(certificate.cert_type)) return 'cert_type_not_allowed';
  const allowed: string[] = section.extensions ? section.extensions.allowed : ['permit-pty'];
  if (certificate.cert_type === 'host' && certificate.extensions.length > 0) return 'extension_not_allowed';
  if (!certificate.extensions.every((e) => allowed.includes(e))) return 'extension_not_allowed';
  const own: Json = section.critical_options ?? {};
  const asked: Json = context.critical_options ?? {};
  if (asked.force_command !== undefined && asked.force_command !== own.force_command) return 'critical_option_not_allowed';
  if (asked.source_address !== undefined && own.source_address !== undefined &&
      !(asked.source_address as string[]).every((inner) => (own.source_address as string[]).some((outer) => contains(parseBlock(outer), parseBlock(inner))))) {
    return 'critical_option_not_allowed';
  }
  if (certificate.cert_type === 'host' && Object.keys(certificate.critical_options).length > 0) return 'critical_option_not_allowed';
  const ttl = seconds(context.ttl ?? actor.ttl.default);
  return ttl >= seconds(actor.ttl.min ?? 1) && ttl <= seconds(actor.ttl.max) ? 'allowed' : 'ttl_out_of_bounds';
}

/** Would the contract allow this (already validated) request against this (valid) registry? */
export function expectedAllow(registry: Json, request: Json): boolean {
  return expectedReason(registry, request) === 'allowed';
}
