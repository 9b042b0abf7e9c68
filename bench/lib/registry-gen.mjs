/**
 * Synthetic flex-auth.registry/v1 documents of any size, shaped like ops-warden's inventory:
 *
 * - about 90 % agents (`agt-*`), each signed for by its own name and its `iam:` subject;
 * - about 6 % automations (`atm-*`) with a role principal, whose signers are their own name and
 *   `iam:` subject plus a team or squad group granted by an `actor:...#signer` relationship;
 * - about 4 % admins (`adm-*`) with the shared `ops-admin` principal, granted to a team group
 *   (3 in 4) or a whole department (1 in 4) through `allowed_subjects`;
 * - humans (`iam:<name>`), one per 20 actors, in squads; squads nest in teams and teams in
 *   departments (`dept > team > squad > human`: 3 levels of groups), with some humans directly
 *   in a team or a department;
 * - about 2 % of agents and 3 % of automations disabled (agent 1 always, automation 0 never, so
 *   that every size has a disabled agent and an automation signed for through a group); a mix of
 *   TTL profiles and of explicit and defaulted `actions` / `min`.
 *
 * Every actor's and human's number is written at one width at every size (`agt-...-0003` in a
 * 10-actor registry as in a 100,000-actor one), so that a check's request and log line are as
 * long at every size and the scale comparison measures the registry's size alone.
 *
 * Deterministic for a given (actors, seed). `variant` makes a different but equally shaped
 * document that keeps every actor in `keep` unchanged (the reload benchmark swaps to it).
 */

export const GENERATOR_VERSION = 5;

/** Base-36 digits of actor numbers (up to 1,679,616 actors) and of human numbers (46,656). */
const ACTOR_DIGITS = 4;
const HUMAN_DIGITS = 3;
const numbered = (n, digits) => n.toString(36).padStart(digits, '0');

/** mulberry32: small, fast, deterministic. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'state', 'hub', 'bridge', 'inventory', 'collector', 'codex', 'interhub', 'bootstrap', 'ledger', 'relay',
  'sentinel', 'indexer', 'mirror', 'scheduler', 'gateway', 'audit', 'metrics', 'deploy', 'builder', 'probe',
  'vault', 'ingest', 'fleet', 'edge', 'canary', 'shard', 'replica', 'watcher', 'courier', 'beacon',
];
const FIRST = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallet', 'niaj', 'olivia', 'peggy', 'rupert', 'sybil', 'trent', 'uma', 'victor', 'wendy'];
const DEPTS = ['platform', 'data', 'sre', 'security', 'network', 'storage', 'compute', 'identity'];
const ROLES = ['backup', 'deploy', 'rotate', 'sync', 'report', 'reindex'];

const AGENT_TTLS = [
  { default: '1h', min: '5m', max: '8h' },
  { default: '30m', min: '5m', max: '2h' },
  { default: '1h', min: '5m', max: '4h' },
  { default: 3600, max: 14400 }, // seconds, and min defaulted (1s)
];
const AUTOMATION_TTLS = [
  { default: '2h', min: '10m', max: '12h' },
  { default: '15m', min: '1m', max: '1h' },
];
const ADMIN_TTLS = [{ default: '1h', min: '5m', max: '4h' }];

function pick(random, list) {
  return list[Math.floor(random() * list.length)];
}

function word2(random) {
  return `${pick(random, WORDS)}-${pick(random, WORDS)}`;
}

/**
 * @param {number} actors how many actors (>= 3)
 * @param {{ seed?: number, variant?: number, keep?: Set<string> }} options
 */
export function generateRegistry(actors, { seed = 1, variant = 0, keep = new Set() } = {}) {
  if (!Number.isInteger(actors) || actors < 3) throw new Error('need at least 3 actors');
  const random = rng(seed * 7919 + actors);

  const admins = Math.max(1, Math.round(actors * 0.04));
  const automations = Math.max(1, Math.round(actors * 0.06));
  const agents = actors - admins - automations;
  const humans = Math.max(5, Math.round(actors / 20));
  const depts = Math.max(1, Math.round(actors / 4000));
  const teams = Math.max(1, Math.round(actors / 400));
  const squadsPerTeam = Math.max(1, Math.min(4, Math.floor(humans / teams / 5)));

  const relationships = [];
  const member = (group, subject) => relationships.push({ object: `group:${group}`, relation: 'member', subject });
  const deptName = (d) => `dept-${DEPTS[d % DEPTS.length]}${d >= DEPTS.length ? `-${d}` : ''}`;
  const teamName = (t) => `team-${DEPTS[(t % depts) % DEPTS.length]}-${t}`;
  const squadName = (t, s) => `${teamName(t)}-squad-${s}`;

  const humanIds = [];
  for (let h = 0; h < humans; h += 1) humanIds.push(`iam:${pick(random, FIRST)}.${numbered(h, HUMAN_DIGITS)}`);
  // Squads get the humans round-robin; every squad has at least one member.
  const squads = [];
  for (let t = 0; t < teams; t += 1) for (let s = 0; s < squadsPerTeam; s += 1) squads.push([t, s]);
  humanIds.forEach((id, h) => {
    const [t, s] = squads[h % squads.length];
    member(squadName(t, s), id);
  });
  for (let t = 0; t < teams; t += 1) {
    member(deptName(t % depts), `group:${teamName(t)}#member`);
    for (let s = 0; s < squadsPerTeam; s += 1) member(teamName(t), `group:${squadName(t, s)}#member`);
    // A team lead or two directly in the team.
    const leads = 1 + Math.floor(random() * 2);
    for (let l = 0; l < leads; l += 1) member(teamName(t), pick(random, humanIds));
  }
  for (let d = 0; d < depts; d += 1) member(deptName(d), pick(random, humanIds));

  const list = [];
  // A variant renames every actor that is not kept (without drawing from `random`, so that
  // everything else, groups included, comes out the same): a different document, same shape.
  const named = (base) => (!variant || keep.has(base) ? base : `${base}-v${variant}`);
  const self = (name) => [name, `iam:${name}`];
  const actionsOf = () => (random() < 0.35 ? { actions: ['sign'] } : {});

  for (let i = 0; i < agents; i += 1) {
    const base = `agt-${word2(random)}-${numbered(i, ACTOR_DIGITS)}`;
    const name = named(base);
    const ttl = pick(random, AGENT_TTLS);
    // Agent 1 is always disabled, so even the smallest registry has one to deny.
    const disabled = i === 1 || random() < 0.02;
    list.push({
      name, type: 'agent', ...actionsOf(), principals: [name], ttl: { ...ttl },
      allowed_subjects: self(name), ...(disabled ? { disabled: true } : random() < 0.5 ? { disabled: false } : {}),
    });
  }
  for (let i = 0; i < automations; i += 1) {
    const base = `atm-${word2(random)}-${numbered(i, ACTOR_DIGITS)}`;
    const name = named(base);
    const role = pick(random, ROLES);
    // Automation 0 is never disabled, so even the smallest registry has one that groups sign for.
    const disabled = random() < 0.03 && i !== 0;
    list.push({
      name, type: 'automation', ...actionsOf(), principals: [name, role], ttl: { ...pick(random, AUTOMATION_TTLS) },
      allowed_subjects: self(name), ...(disabled ? { disabled: true } : {}),
    });
    const t = Math.floor(random() * teams);
    const grant = random() < 0.7 ? teamName(t) : squadName(t, Math.floor(random() * squadsPerTeam));
    relationships.push({ object: `actor:${name}`, relation: 'signer', subject: `group:${grant}#member` });
  }
  for (let i = 0; i < admins; i += 1) {
    const base = `adm-${word2(random)}-${numbered(i, ACTOR_DIGITS)}`;
    const name = named(base);
    const group = random() < 0.25 ? deptName(Math.floor(random() * depts)) : teamName(Math.floor(random() * teams));
    list.push({
      name, type: 'admin', actions: ['sign'], principals: [name, 'ops-admin'], ttl: { ...pick(random, ADMIN_TTLS) },
      allowed_subjects: [...self(name), `group:${group}#member`],
    });
  }

  return {
    schema: 'flex-auth.registry/v1',
    metadata: {
      name: `bench-${actors}${variant ? `-v${variant}` : ''}`,
      source: 'flex-auth bench generator',
      generated_at: variant ? '2026-06-23T13:00:00Z' : '2026-06-23T12:00:00Z',
    },
    actors: list,
    relationships,
  };
}
