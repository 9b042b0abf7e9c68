/** Registry documents and check requests that the process-level suites send. */

export interface RegistryOptions {
  /** Makes the document (and so its revision) distinct. */
  readonly name: string;
  /** Extra actors beyond the base one. */
  readonly extraActors?: readonly Record<string, unknown>[];
  readonly ttlMax?: string;
}

/** A small valid registry: actor `agt-reload` (signer: itself) plus `extraActors`. */
export function makeRegistry(options: RegistryOptions): Record<string, any> {
  return {
    schema: 'flex-auth.registry/v1',
    metadata: { name: options.name, source: 'flex-auth integration tests', generated_at: '2026-06-23T12:00:00Z' },
    actors: [
      {
        name: 'agt-reload',
        type: 'agent',
        actions: ['sign'],
        principals: ['agt-reload'],
        ttl: { default: '1h', min: '5m', max: options.ttlMax ?? '8h' },
        allowed_subjects: ['agt-reload', 'iam:agt-reload'],
      },
      ...(options.extraActors ?? []),
    ],
    relationships: [],
  };
}

/** A check request for `actor` signed by `subject` (defaults to the actor's name). */
export function checkFor(actor: string, context?: Record<string, unknown>, subject = actor): Record<string, unknown> {
  return {
    subject: { id: subject },
    action: 'sign',
    resource: { type: 'ssh_actor', id: actor },
    ...(context ? { context } : {}),
  };
}

/** `object#relation@subject`, the contract's tuple notation. */
export function tupleOf(rel: { object: string; relation: string; subject: string }): string {
  return `${rel.object}#${rel.relation}@${rel.subject}`;
}
