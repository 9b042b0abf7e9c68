/**
 * The request mix and what each answer must be.
 *
 * `model()` and `oracle()` are a reference reading of ssh-sign/v1 written from the contract
 * (CONTRACT.md section 3), independent of src/: actors by name and, for each, the set of subject
 * ids that may sign for it with group usersets expanded through nested groups. The floors serve
 * from the same model (an in-memory Map, no validation), and the Cerbos requests carry it.
 *
 * `generateMix()` builds checks by intent (70 % allows of five kinds, 30 % denies spread evenly
 * over the seven deny reasons) and asserts the oracle agrees with every intended answer.
 */
import { rng } from './registry-gen.mjs';

/** Bump when the mix or its rendering changes, so cached mixes in bench/.cache are rebuilt. */
export const MIX_VERSION = 2;

export const DENY_REASONS = [
  'unsupported_resource_type', 'unknown_actor_resource', 'actor_disabled', 'action_not_allowed',
  'subject_not_allowed', 'principal_not_allowed', 'ttl_out_of_bounds',
];

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Contract durations: whole seconds, or `<int><unit>` parts in h, m, s order. */
export function seconds(value) {
  if (typeof value === 'number') return value;
  const m = DURATION.exec(String(value));
  if (!m || value === '') throw new Error(`bad duration ${value}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

const USERSET = /^group:(.+)#member$/;

/** name -> { disabled, actions, principals, principalSet, ttl: {default, min, max}, subjects } */
export function model(doc) {
  const relationships = doc.relationships ?? [];
  const direct = new Map(); // group -> subjects (ids and usersets)
  const signerTuples = new Map(); // actor -> subjects
  for (const rel of relationships) {
    const [kind, name] = rel.object.split(/:(.*)/s);
    const target = kind === 'group' ? direct : signerTuples;
    if (!target.has(name)) target.set(name, []);
    target.get(name).push(rel.subject);
  }
  const expanded = new Map();
  const membersOf = (group, seen = new Set()) => {
    if (expanded.has(group)) return expanded.get(group);
    const out = new Set();
    seen.add(group);
    for (const subject of direct.get(group) ?? []) {
      const nested = USERSET.exec(subject)?.[1];
      if (nested === undefined) out.add(subject);
      else if (!seen.has(nested)) for (const s of membersOf(nested, seen)) out.add(s);
    }
    expanded.set(group, out);
    return out;
  };
  const actors = new Map();
  for (const entry of doc.actors) {
    const subjects = new Set();
    for (const subject of [...(entry.allowed_subjects ?? []), ...(signerTuples.get(entry.name) ?? [])]) {
      const group = USERSET.exec(subject)?.[1];
      if (group === undefined) subjects.add(subject);
      else for (const s of membersOf(group)) subjects.add(s);
    }
    actors.set(entry.name, {
      name: entry.name,
      type: entry.type,
      disabled: entry.disabled === true,
      actions: new Set(entry.actions ?? ['sign']),
      principals: entry.principals,
      principalSet: new Set(entry.principals),
      ttl: { default: seconds(entry.ttl.default), min: entry.ttl.min === undefined ? 1 : seconds(entry.ttl.min), max: seconds(entry.ttl.max) },
      subjects,
    });
  }
  const groups = [...direct.keys()];
  const humans = [...new Set(relationships.filter((r) => r.relation === 'member' && !USERSET.test(r.subject)).map((r) => r.subject))];
  return { actors, groups, humans, membersOf };
}

/** The contract's decision, reasons in the contract's order, and an allow's grant. */
export function oracle(m, req) {
  const deny = (reason) => ({ allow: false, reason });
  if ((req.resource.type ?? 'ssh_actor') !== 'ssh_actor') return deny('unsupported_resource_type');
  const actor = m.actors.get(req.resource.id);
  if (!actor) return deny('unknown_actor_resource');
  if (actor.disabled) return deny('actor_disabled');
  if (!actor.actions.has(req.action)) return deny('action_not_allowed');
  if (!actor.subjects.has(req.subject.id)) return deny('subject_not_allowed');
  const principals = req.context?.principals ?? actor.principals;
  if (principals.length === 0 || !principals.every((p) => actor.principalSet.has(p))) return deny('principal_not_allowed');
  const ttl = req.context?.ttl === undefined ? actor.ttl.default : seconds(req.context.ttl);
  if (ttl > actor.ttl.max || ttl < actor.ttl.min) return deny('ttl_out_of_bounds');
  return { allow: true, reason: 'allowed', grant: { ttl_seconds: ttl, principals } };
}

const TTL_CHOICES = ['1m', '5m', '10m', '15m', '30m', '45m', '1h', '90m', '1h30m', '2h', '4h', '8h', 900, 3600, 7200];
const METADATA = [{ ticket: 'OPS-1234' }, { ticket: 'OPS-2048', host: 'bastion-1' }, { reason: 'rotation' }];

/**
 * @param {object} doc registry document
 * @param {{ count?: number, seed?: number, only?: (name: string) => boolean }} options
 *   `only` limits the actors the mix may name (the reload benchmark keeps them in both documents)
 * @returns {{ req: object, allow: boolean, reason: string, kind: string }[]}
 */
export function generateMix(doc, { count = 4200, seed = 11, m = model(doc) } = {}) {
  const random = rng(seed * 104729 + doc.actors.length);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const all = [...m.actors.values()];
  const enabled = (type) => all.filter((a) => a.type === type && !a.disabled);
  const agents = enabled('agent');
  const admins = enabled('admin');
  const automations = enabled('automation');
  const disabled = all.filter((a) => a.disabled);
  if (agents.length === 0 || disabled.length === 0) throw new Error('registry needs enabled and disabled agents');
  const others = [...admins, ...automations];

  const ttlWithin = (actor) => {
    const ok = TTL_CHOICES.filter((t) => seconds(t) >= actor.ttl.min && seconds(t) <= actor.ttl.max);
    return pick(ok);
  };
  const context = (actor, principals) => {
    const ctx = {};
    if (random() < 0.5) ctx.ttl = ttlWithin(actor);
    if (principals && random() < 0.5) ctx.principals = principals;
    if (random() < 0.2) ctx.metadata = pick(METADATA);
    return ctx;
  };
  const check = (subject, actor, ctx, extra = {}) => ({
    subject: { id: subject },
    action: 'sign',
    resource: { type: 'ssh_actor', id: actor.name },
    ...(Object.keys(ctx).length ? { context: ctx } : {}),
    ...extra,
  });
  /** A member of the actor's signer groups who is not one of its own ids (so the path goes through groups). */
  const groupMember = (actor) => {
    const own = new Set([actor.name, `iam:${actor.name}`]);
    const members = [...actor.subjects].filter((s) => !own.has(s));
    return members.length ? pick(members) : undefined;
  };

  const allowKinds = [
    ['agent-self', 0.34, () => { const a = pick(agents); return check(a.name, a, context(a, [a.name])); }],
    ['agent-iam', 0.30, () => { const a = pick(agents); return check(`iam:${a.name}`, a, context(a, [a.name])); }],
    ['admin-via-group', 0.12, () => {
      const a = admins.length ? pick(admins) : undefined;
      const s = a && groupMember(a);
      return s ? check(s, a, context(a, pick([['ops-admin'], [a.name, 'ops-admin']]))) : undefined;
    }],
    ['automation-via-group', 0.14, () => {
      const a = automations.length ? pick(automations) : undefined;
      const s = a && groupMember(a);
      return s ? check(s, a, context(a, [a.principals[1]])) : undefined;
    }],
    ['admin-or-automation-self', 0.10, () => {
      const a = others.length ? pick(others) : undefined;
      return a ? check(pick([a.name, `iam:${a.name}`]), a, context(a, [a.principals[0]])) : undefined;
    }],
  ];
  let unknown = 0;
  const denyKinds = {
    unsupported_resource_type: () => { const a = pick(agents); return check(a.name, a, {}, { resource: { type: pick(['k8s_secret', 'ssh_host']), id: a.name } }); },
    unknown_actor_resource: () => { const id = `agt-not-in-inventory-${(unknown += 1)}`; return { subject: { id }, action: 'sign', resource: { type: 'ssh_actor', id } }; },
    actor_disabled: () => { const a = pick(disabled); return check(a.name, a, {}); },
    action_not_allowed: () => { const a = pick(agents); return { ...check(a.name, a, {}), action: pick(['revoke', 'renew']) }; },
    subject_not_allowed: () => {
      const a = pick(random() < 0.6 ? agents : others.length ? others : agents);
      const outsider = m.humans.filter((h) => !a.subjects.has(h));
      const s = random() < 0.5 && outsider.length ? pick(outsider) : `iam:mallory-${Math.floor(random() * 1000)}`;
      return check(s, a, {});
    },
    principal_not_allowed: () => { const a = pick(agents); return check(a.name, a, { principals: pick([['root'], [a.name, 'root']]) }); },
    ttl_out_of_bounds: () => {
      const a = pick(agents);
      return check(`iam:${a.name}`, a, { ttl: a.ttl.min > 30 && random() < 0.5 ? '30s' : '999h' });
    },
  };

  const denies = Math.round(count * 0.3);
  const perReason = Math.floor(denies / DENY_REASONS.length);
  const out = [];
  for (const reason of DENY_REASONS) {
    for (let i = 0; i < perReason; i += 1) out.push({ req: denyKinds[reason](), allow: false, reason, kind: reason });
  }
  const weightSum = allowKinds.reduce((s, [, w]) => s + w, 0);
  while (out.length < count) {
    let r = random() * weightSum;
    const kind = allowKinds.find(([, w]) => (r -= w) < 0) ?? allowKinds[0];
    // A kind the registry cannot give (no enabled automation, say) is drawn as the first kind,
    // and counted as what it is, so that the summary shows the mix's real shape.
    const drawn = kind[2]();
    const [label, req] = drawn ? [kind[0], drawn] : [allowKinds[0][0], allowKinds[0][2]()];
    out.push({ req, allow: true, reason: 'allowed', kind: label });
  }
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  for (const [i, item] of out.entries()) {
    const want = oracle(m, item.req);
    if (want.allow !== item.allow || want.reason !== item.reason) {
      throw new Error(`mix item ${i} (${item.kind}) meant ${item.reason} but the contract says ${want.reason}: ${JSON.stringify(item.req)}`);
    }
  }
  return out;
}

/** The registry record as a Cerbos caller sends it (see bench/cerbos/policies/ssh_actor.yaml). */
export function cerbosRecord(actor) {
  if (!actor) {
    return { registered: false, disabled: true, actions: [], subjects: [], principals: [], ttl_min: 0, ttl_default: 0, ttl_max: 0 };
  }
  return {
    registered: true,
    disabled: actor.disabled,
    actions: [...actor.actions],
    subjects: [...actor.subjects],
    principals: actor.principals,
    ttl_min: actor.ttl.min,
    ttl_default: actor.ttl.default,
    ttl_max: actor.ttl.max,
  };
}

/** A Cerbos CheckResources body for one check: the caller normalizes ttl to seconds. */
export function cerbosBody(m, req, requestId) {
  const ctx = req.context ?? {};
  return {
    requestId,
    principal: {
      id: req.subject.id,
      roles: ['signer'],
      attr: {
        ...(ctx.ttl === undefined ? {} : { ttl_seconds: seconds(ctx.ttl) }),
        ...(ctx.principals ? { principals: ctx.principals } : {}),
      },
    },
    resources: [{
      actions: [req.action],
      resource: { kind: req.resource.type ?? 'ssh_actor', id: req.resource.id, attr: cerbosRecord(m.actors.get(req.resource.id)) },
    }],
  };
}

export function summarize(mix) {
  const byReason = {};
  const byKind = {};
  for (const item of mix) {
    byReason[item.reason] = (byReason[item.reason] ?? 0) + 1;
    byKind[item.kind] = (byKind[item.kind] ?? 0) + 1;
  }
  const allows = mix.filter((i) => i.allow).length;
  return { count: mix.length, allow_share: allows / mix.length, by_reason: byReason, by_kind: byKind };
}
