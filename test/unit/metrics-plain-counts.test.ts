/**
 * The decision and HTTP counters are counted in plain numbers on the hot path and handed to
 * prom-client when read (src/metrics.ts, PlainCounts). Twin property test: for any sequence of
 * recorded decisions and requests, read at any points, the exposition of both counters is
 * byte for byte what prom-client counters fed the simple way (`inc(labels)` per call) give.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { Counter, Registry } from 'prom-client';
import { Metrics } from '../../src/metrics.js';

type Op =
  | { readonly kind: 'decision'; readonly action: string; readonly allow: boolean; readonly reason: string; readonly seconds: number }
  | { readonly kind: 'http'; readonly route: string; readonly method: string; readonly status: number }
  | { readonly kind: 'read' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('decision' as const),
    action: fc.constantFrom('sign', 'other', 'rotate'),
    allow: fc.boolean(),
    reason: fc.constantFrom('allowed', 'actor_disabled', 'subject_not_allowed', 'registry_unavailable'),
    seconds: fc.double({ min: 0, max: 2, noNaN: true }),
  }),
  fc.record({
    kind: fc.constant('http' as const),
    route: fc.constantFrom('/v1/check', '/readyz', 'unmatched'),
    method: fc.constantFrom('POST', 'GET', 'OPTIONS'),
    status: fc.constantFrom(200, 400, 404, 500, 503),
  }),
  fc.constant({ kind: 'read' as const }),
);

/** The simple reference: prom-client counters with the same names, help and labels, `inc` per call. */
function reference() {
  const registry = new Registry();
  const decisions = new Counter({ name: 'flex_auth_decisions_total', help: 'Check decisions by action, outcome and reason.', labelNames: ['action', 'allow', 'reason'], registers: [registry] });
  const http = new Counter({ name: 'flex_auth_http_requests_total', help: 'HTTP requests by route, method and status.', labelNames: ['route', 'method', 'status'], registers: [registry] });
  return { registry, decisions, http };
}

const NAMES = ['flex_auth_decisions_total', 'flex_auth_http_requests_total'];

describe('Metrics: plain counts handed to prom-client when read', () => {
  it('expose exactly what per-call prom-client counters expose, at every read and at the end', async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
      const metrics = new Metrics('file');
      const ref = reference();
      const compare = async () => {
        for (const name of NAMES) {
          expect(await metrics.registry.getSingleMetricAsString(name)).to.equal(await ref.registry.getSingleMetricAsString(name));
        }
      };
      for (const o of ops) {
        if (o.kind === 'decision') {
          metrics.recordDecision(o.action, o.allow, o.reason, o.seconds);
          ref.decisions.inc({ action: o.action, allow: String(o.allow), reason: o.reason });
        } else if (o.kind === 'http') {
          metrics.recordHttp(o.route, o.method, o.status);
          ref.http.inc({ route: o.route, method: o.method, status: String(o.status) });
        } else {
          await compare();
        }
      }
      await compare();
    }), { numRuns: 200 });
  });

  it('counts in the full exposition too (registry.metrics(), as /metrics serves it)', async () => {
    const metrics = new Metrics('file');
    metrics.recordDecision('sign', true, 'allowed', 0.001);
    metrics.recordDecision('sign', true, 'allowed', 0.001);
    metrics.recordHttp('/v1/check', 'POST', 200);
    const text = await metrics.registry.metrics();
    expect(text).to.include('flex_auth_decisions_total{action="sign",allow="true",reason="allowed"} 2');
    expect(text).to.include('flex_auth_http_requests_total{route="/v1/check",method="POST",status="200"} 1');
    // A second read adds nothing that was not counted since.
    expect(await metrics.registry.metrics()).to.include('flex_auth_decisions_total{action="sign",allow="true",reason="allowed"} 2');
  });
});
