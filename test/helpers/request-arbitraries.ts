import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { signers } from './policy-oracle.js';
import { EXTENSION_NAMES, FORCE_COMMANDS, SOURCE_BLOCKS, validCertificate } from './registry-shapes.js';

/** Generators of check requests over the production example registry, for property tests. */

export type Json = Record<string, any>;

export const PRODUCTION_TEXT = readFileSync(new URL('../../../examples/ops-warden/production_registry_snapshot.json', import.meta.url), 'utf8');
export const registry = JSON.parse(PRODUCTION_TEXT) as Json;
const actors = registry.actors as Json[];

// Subjects that matter: each actor's signers (allowed and group-granted), plus strangers.
const subjectPool = [...new Set(actors.flatMap((a) => [...signers(registry, a)]))].concat(['iam:mallory', 'agt-unknown', 'group:oncall#member']);
const principalPool = [...new Set(actors.flatMap((a) => a.principals as string[]))].concat(['root', 'admin']);
const ttlPool: (string | number)[] = ['1s', '59s', '5m', '4m59s', '1h', '2h', '8h', '8h1s', '12h', '999h', 1, 299, 300, 3600, 28800, 28801, 43200];

/**
 * Well-formed requests built around one actor: mostly its own signers, principals and ttls,
 * sometimes anyone else's, so that allows and every kind of deny are all common.
 */
export const wellFormed: fc.Arbitrary<Json> = fc.constantFrom(...actors).chain((actor) => {
  const own = <T>(mine: T[], others: T[]) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...mine) }, { weight: 1, arbitrary: fc.constantFrom(...others) });
  return fc.record({
    subject: fc.record({ id: own([...signers(registry, actor)], subjectPool.filter((s) => !s.includes('#'))) }),
    action: fc.constantFrom('sign', 'sign', 'sign', 'revoke'),
    resource: fc.record({
      type: fc.constantFrom('ssh_actor', 'ssh_actor', 'ssh_host'),
      id: fc.constantFrom(actor.name as string, actor.name as string, actor.name as string, 'agt-missing'),
    }, { requiredKeys: ['id'] }),
    context: fc.record({
      ttl: own([actor.ttl.default, actor.ttl.max, actor.ttl.min ?? 1], ttlPool),
      principals: fc.uniqueArray(own(actor.principals as string[], principalPool), { minLength: 1, maxLength: 3 }),
      metadata: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }),
    }, { requiredKeys: [] }),
  }, { requiredKeys: ['subject', 'action', 'resource'] });
});

const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'allow', '', 'ｓｕｂｊｅｃｔ', 'subject ');
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything(),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.string({ minLength: 300, maxLength: 5000 }),
  fc.constantFrom(null, true, 0, -1, 1.5, 1e308, '', ' ', '0s', '1h', [], {}, ['sign'], { id: 'agt-state-hub-bridge' }),
  fc.integer({ min: 1, max: 200 }).map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown),
);

type Mutation = { kind: 'delete' | 'set' | 'add'; path: string[]; key?: string; value?: unknown };

/** Paths into a request object, for mutations. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return [prefix, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

function mutate(request: Json, mutation: Mutation): Json {
  const copy = JSON.parse(JSON.stringify(request)) as Json;
  const parentPath = mutation.path.slice(0, -1);
  let parent: any = copy;
  for (const key of parentPath) parent = parent?.[key];
  const last = mutation.path.at(-1);
  if (mutation.kind === 'delete' && last !== undefined && parent && typeof parent === 'object') delete parent[last];
  if (mutation.kind === 'set' && last !== undefined && parent && typeof parent === 'object') parent[last] = mutation.value;
  if (mutation.kind === 'add') {
    let target: any = copy;
    for (const key of mutation.path) target = target?.[key];
    if (target && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, mutation.key!, { value: mutation.value, enumerable: true, configurable: true, writable: true });
  }
  return copy;
}

export const mutated: fc.Arbitrary<string> = wellFormed.chain((request) =>
  fc.array(
    fc.record({
      kind: fc.constantFrom('delete', 'set', 'add') as fc.Arbitrary<Mutation['kind']>,
      path: fc.constantFrom(...paths(request)),
      key: hostileKey,
      value: hostileValue,
    }),
    { minLength: 1, maxLength: 3 },
  ).chain((mutations) => {
    const body = JSON.stringify(mutations.reduce(mutate, request));
    // Sometimes repeat a key textually: strict JSON (the contract) refuses such a body.
    return fc.constantFrom(body, body.replace(/^\{"subject":/, '{"subject":{"id":"iam:mallory"},"subject":'));
  }),
);


/**
 * A generated registry whose actors have certificate sections of every kind (or none), and a
 * request around one of them that asks for certificate fields: mostly the actor's own values,
 * sometimes wider ones, so that each certificate rule allows and denies often.
 */
export const certificateCase: fc.Arbitrary<{ registry: Json; request: Json }> = fc.uniqueArray(
  fc.record({
    name: fc.constantFrom('agt-a', 'atm-b', 'svc-c'),
    principals: fc.uniqueArray(fc.constantFrom('deploy', 'backup', 'root', 'host.example'), { minLength: 1, maxLength: 3 }),
    certificate: fc.option(validCertificate, { nil: undefined }),
  }),
  { minLength: 1, maxLength: 3, selector: (actor) => actor.name },
).chain((entries) => {
  const actors = entries.map(({ name, principals, certificate }) => ({
    name, type: 'agent', principals, ttl: { default: '1h', min: '5m', max: '8h' }, allowed_subjects: [`iam:${name}`],
    ...(certificate === undefined ? {} : { certificate }),
  }));
  const registry = { schema: 'flex-auth.registry/v1', actors };
  return fc.constantFrom(...actors).chain((actor) => {
    const section: Json = actor.certificate ?? {};
    const own: Json = section.critical_options ?? {};
    const ownSources: string[] = own.source_address ?? [];
    return fc.record({
      subject: fc.record({ id: fc.constantFrom(`iam:${actor.name}`, `iam:${actor.name}`, `iam:${actor.name}`, 'iam:mallory') }),
      action: fc.constant('sign'),
      resource: fc.record({ id: fc.constantFrom(actor.name, actor.name, actor.name, actor.name, 'agt-missing') }),
      context: fc.record({
        ttl: fc.constantFrom('1h', '2h', '8h', '9h', '1m'),
        principals: fc.uniqueArray(fc.constantFrom(...actor.principals, ...actor.principals, 'root', 'nobody'), { minLength: 1, maxLength: 3 }),
        cert_type: fc.constantFrom('user', 'user', 'host'),
        extensions: fc.oneof(fc.subarray(section.extensions?.allowed ?? ['permit-pty']), fc.uniqueArray(fc.constantFrom(...EXTENSION_NAMES), { maxLength: 3 })),
        critical_options: fc.record({
          force_command: fc.constantFrom(...(own.force_command ? [own.force_command, own.force_command] : []), ...FORCE_COMMANDS),
          source_address: fc.uniqueArray(fc.constantFrom(...ownSources, ...SOURCE_BLOCKS), { minLength: 1, maxLength: 3 }),
        }, { requiredKeys: [] }),
      }, { requiredKeys: [] }),
    }).map((request) => ({ registry, request }));
  });
});
