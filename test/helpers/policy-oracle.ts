/**
 * A reference implementation of ssh-sign/v1, written from the contract and independent of
 * src/: a plain graph walk instead of the compiled index. Property tests compare every
 * decision the service makes with this one.
 */

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

/** Would the contract allow this (already validated) request against this (valid) registry? */
export function expectedAllow(registry: Json, request: Json): boolean {
  if ((request.resource.type ?? 'ssh_actor') !== 'ssh_actor') return false;
  const actor = (registry.actors as Json[]).find((a) => a.name === request.resource.id);
  if (!actor || actor.disabled === true) return false;
  if (!(actor.actions ?? ['sign']).includes(request.action)) return false;
  if (!signers(registry, actor).has(request.subject.id)) return false;
  const principals: string[] = request.context?.principals ?? actor.principals;
  if (!principals.every((p) => actor.principals.includes(p))) return false;
  const ttl = seconds(request.context?.ttl ?? actor.ttl.default);
  return ttl >= seconds(actor.ttl.min ?? 1) && ttl <= seconds(actor.ttl.max);
}
