/**
 * What the two floor servers share: the registry as an in-memory Map (bench/lib/mix.mjs model:
 * each actor with its expanded signer set), and the same ssh-sign/v1 decision, in the contract's
 * reason order, with no validation, no decision id, no logging and no metrics.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { holdTickShape } from '../../dist/src/tick-shape.js';
import { model, seconds } from '../lib/mix.mjs';

export function options() {
  const { values } = parseArgs({ options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string' }, 'registry-file': { type: 'string' } } });
  if (!values.port || !values['registry-file']) throw new Error('usage: --port P --registry-file FILE [--host 127.0.0.1]');
  return { host: values.host, port: Number(values.port), file: values['registry-file'] };
}

export function loadActors(file) {
  // As flex-auth does (src/tick-shape.ts): without it, a full GC while no tick is pending leaves
  // Node 20's nextTick megamorphic, which would make the floor pay for a defect, not for the work.
  holdTickShape();
  return model(JSON.parse(readFileSync(file, 'utf8'))).actors;
}

export function decide(actors, req) {
  if ((req.resource.type ?? 'ssh_actor') !== 'ssh_actor') return { allow: false, reason: 'unsupported_resource_type' };
  const actor = actors.get(req.resource.id);
  if (actor === undefined) return { allow: false, reason: 'unknown_actor_resource' };
  if (actor.disabled) return { allow: false, reason: 'actor_disabled' };
  if (!actor.actions.has(req.action)) return { allow: false, reason: 'action_not_allowed' };
  if (!actor.subjects.has(req.subject.id)) return { allow: false, reason: 'subject_not_allowed' };
  const principals = req.context?.principals ?? actor.principals;
  if (principals.length === 0 || !principals.every((p) => actor.principalSet.has(p))) return { allow: false, reason: 'principal_not_allowed' };
  const ttl = req.context?.ttl === undefined ? actor.ttl.default : seconds(req.context.ttl);
  if (ttl > actor.ttl.max || ttl < actor.ttl.min) return { allow: false, reason: 'ttl_out_of_bounds' };
  return { allow: true, reason: 'allowed', grant: { ttl_seconds: ttl, principals } };
}
