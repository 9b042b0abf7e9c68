import type { CoreV1Event } from '@kubernetes/client-node';
import { expect } from 'chai';
import { judge, render } from '../../../src/cli/status.js';
import { replicaStates } from '../../../src/sources/events.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const now = new Date('2026-12-01T12:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);

function event(instance: string, reason: 'RegistryLoaded' | 'RegistryRejected', revision: string | undefined, at: Date): CoreV1Event {
  return {
    metadata: { name: `${instance}.${reason}.${revision}`, ...(revision ? { annotations: { 'flex-auth/registry-revision': revision } } : {}) },
    involvedObject: { kind: 'ConfigMap', name: 'flex-auth-registry', resourceVersion: '42' },
    reason, message: `${instance} ...`, reportingComponent: 'flex-auth', reportingInstance: instance,
    firstTimestamp: at, lastTimestamp: at,
  };
}

const verdict = (current: string | undefined, events: CoreV1Event[]) => judge({ current, replicas: replicaStates(events) }, 'flex-auth', 'flex-auth-registry', now);

/** `flex-auth status`'s verdict from Events (the real API server run is in test/k8s/staleness-and-events.test.ts). */
describe('the rollout verdict of flex-auth status', () => {
  it('is OK when every replica that reported lately serves the current revision', () => {
    const v = verdict(B, [event('p1', 'RegistryLoaded', A, minutesAgo(30)), event('p1', 'RegistryLoaded', B, minutesAgo(1)), event('p2', 'RegistryLoaded', B, minutesAgo(1))]);
    expect(v).to.deep.equal({ ok: true, summary: 'every replica that reported in the last 10 minutes serves sha256:bbbbbbbbbbbb' });
  });

  it('names the revision a replica still serves after rejecting the current one', () => {
    const states = replicaStates([event('p1', 'RegistryLoaded', A, minutesAgo(5)), event('p1', 'RegistryRejected', B, minutesAgo(1)), event('p2', 'RegistryLoaded', B, minutesAgo(1))]);
    expect(states[0]).to.deep.include({ instance: 'p1', serving: { revision: A, since: minutesAgo(5) } });
    expect(states[0]!.rejected).to.include({ what: B });
    const v = judge({ current: B, replicas: states }, 'flex-auth', 'flex-auth-registry', now);
    expect(v).to.deep.equal({ ok: false, summary: '1 of 2 replicas do not serve sha256:bbbbbbbbbbbb; they serve sha256:aaaaaaaaaaaa' });
    const text = render({ current: B, replicas: states }, v, 'flex-auth', 'flex-auth-registry', now);
    expect(text).to.match(/^p1 +sha256:aaaaaaaaaaaa +since 2026-12-01T11:55:00Z \(5m ago\) +OLD, rejected sha256:bbbbbbbbbbbb 60s ago$/m);
    expect(text).to.match(/^p2 +sha256:bbbbbbbbbbbb +since 2026-12-01T11:59:00Z \(60s ago\) +current$/m);
  });

  it('does not count a replica silent for more than 10 minutes, but is never OK with no replica on the current revision', () => {
    expect(verdict(B, [event('gone', 'RegistryLoaded', A, minutesAgo(11)), event('p2', 'RegistryLoaded', B, minutesAgo(1))]).ok).to.equal(true);
    // Right after an apply, before any replica has loaded it: not OK, even though nobody reported lately.
    expect(verdict(B, [event('p1', 'RegistryLoaded', A, minutesAgo(30))])).to.deep.equal({ ok: false, summary: 'no replica has reported loading sha256:bbbbbbbbbbbb yet' });
    expect(verdict(B, []).ok).to.equal(false);
  });

  it('orders a replica\'s Events by the time it recorded them to the millisecond, not by the API\'s whole seconds', () => {
    // Two loads within one second: Event timestamps hold whole seconds, so they tie there.
    const second = new Date('2026-12-01T11:59:30Z');
    const loadedB = { ...event('p1', 'RegistryLoaded', B, second), metadata: { name: 'b', annotations: { 'flex-auth/registry-revision': B, 'flex-auth/recorded-at': '2026-12-01T11:59:30.800Z' } } };
    const loadedA = { ...event('p1', 'RegistryLoaded', A, second), metadata: { name: 'a', annotations: { 'flex-auth/registry-revision': A, 'flex-auth/recorded-at': '2026-12-01T11:59:30.100Z' } } };
    for (const order of [[loadedA, loadedB], [loadedB, loadedA]]) {
      expect(replicaStates(order)[0]!.serving!.revision).to.equal(B);
    }
  });

  it('is not OK without a revision annotation on the ConfigMap, and ignores Events flex-auth did not write', () => {
    expect(verdict(undefined, [event('p1', 'RegistryLoaded', A, minutesAgo(1))]).ok).to.equal(false);
    const foreign = { ...event('p1', 'RegistryLoaded', A, minutesAgo(1)), reportingComponent: 'someone-else' };
    expect(replicaStates([foreign])).to.deep.equal([]);
  });
});
