import { expect } from 'chai';
import { loadAccess } from '../../../src/registry/access.js';
import { diffAccess } from '../../../src/registry/diff.js';
import type { AccessChange } from '../../../src/registry/diff.js';
import { actorEntry, member, registryDocument, signer, text } from '../../fixtures/registry.js';
import type { Json } from '../../fixtures/registry.js';

function changesOf(before: Json, after: Json): AccessChange[] {
  return [...diffAccess(loadAccess(text(before)), loadAccess(text(after))).changes];
}

/** Which direct and group grants changed, and each bound and list on its own. */
describe('registry diff, change by change', () => {
  it('sees a direct subject replaced by another, the count unchanged', () => {
    const before = registryDocument([actorEntry('agt-a', { allowed_subjects: ['agt-a', 'iam:alice'] })]);
    const after = registryDocument([actorEntry('agt-a', { allowed_subjects: ['agt-a', 'iam:bob'] })]);
    expect(changesOf(before, after)).to.deep.equal([
      { actor: 'agt-a', change: 'subjects_added', values: ['iam:bob'], widening: true },
      { actor: 'agt-a', change: 'subjects_removed', values: ['iam:alice'], widening: false },
    ]);
  });

  it('sees one more direct subject', () => {
    const before = registryDocument([actorEntry('agt-a', { allowed_subjects: ['agt-a'] })]);
    const after = registryDocument([actorEntry('agt-a', { allowed_subjects: ['agt-a', 'iam:bob'] })]);
    expect(changesOf(before, after)).to.deep.equal([{ actor: 'agt-a', change: 'subjects_added', values: ['iam:bob'], widening: true }]);
  });

  it('sees a group member replaced by another, the group the same size and partly the same', () => {
    const grant = signer('agt-a', 'group:ops#member');
    const before = registryDocument([actorEntry('agt-a')], [member('ops', 'iam:alice'), member('ops', 'iam:bob'), grant]);
    const after = registryDocument([actorEntry('agt-a')], [member('ops', 'iam:alice'), member('ops', 'iam:carol'), grant]);
    expect(changesOf(before, after)).to.deep.equal([
      { actor: 'agt-a', change: 'subjects_added', values: ['iam:carol via group:ops'], widening: true },
      { actor: 'agt-a', change: 'subjects_removed', values: ['iam:bob via group:ops'], widening: false },
    ]);
  });

  it('lists the subjects of an added actor sorted, whatever the document order, with the way each is granted', () => {
    const before = registryDocument([actorEntry('agt-a')]);
    const after = registryDocument(
      [actorEntry('agt-a'), actorEntry('agt-b', { allowed_subjects: ['iam:zed', 'agt-b', 'group:ops#member'] })],
      [member('ops', 'iam:carol'), member('ops', 'iam:amy')],
    );
    expect(changesOf(before, after)).to.deep.equal([
      { actor: 'agt-b', change: 'actor_added', values: ['agt-b', 'iam:amy via group:ops', 'iam:carol via group:ops', 'iam:zed'], widening: true },
    ]);
  });

  it('names a subject granted both directly and through a group as direct, and through two groups by the first granted', () => {
    const before = registryDocument([actorEntry('agt-a')]);
    const after = registryDocument(
      [actorEntry('agt-a'), actorEntry('agt-b', { allowed_subjects: ['iam:alice', 'group:ops#member', 'group:dev#member'] })],
      [member('dev', 'iam:bob'), member('ops', 'iam:alice'), member('ops', 'iam:bob')],
    );
    expect(changesOf(before, after)[0]!.values).to.deep.equal(['iam:alice', 'iam:bob via group:ops']);
  });

  it('lists an actor granted only by signer tuples, with no allowed_subjects', () => {
    const before = registryDocument([actorEntry('agt-a')]);
    const lone = actorEntry('agt-b');
    delete lone.allowed_subjects;
    const after = registryDocument([actorEntry('agt-a'), lone], [signer('agt-b', 'iam:alice')]);
    expect(changesOf(before, after)).to.deep.equal([{ actor: 'agt-b', change: 'actor_added', values: ['iam:alice'], widening: true }]);
  });

  it('reports actions only taken away as removed, and nothing added', () => {
    const before = registryDocument([actorEntry('agt-a', { actions: ['sign', 'renew'] })]);
    const after = registryDocument([actorEntry('agt-a', { actions: ['sign'] })]);
    expect(changesOf(before, after)).to.deep.equal([{ actor: 'agt-a', change: 'actions_removed', values: ['renew'], widening: false }]);
  });

  it('reports principals only added as added, and nothing removed', () => {
    const before = registryDocument([actorEntry('agt-a', { principals: ['agt-a'] })]);
    const after = registryDocument([actorEntry('agt-a', { principals: ['agt-a', 'ops'] })]);
    expect(changesOf(before, after)).to.deep.equal([{ actor: 'agt-a', change: 'principals_added', values: ['ops'], widening: true }]);
  });

  it('reports a raised min, a lowered default and a lowered max ttl as narrowing, with both values', () => {
    const before = registryDocument([actorEntry('agt-a', { ttl: { default: '1h', min: '5m', max: '8h' } })]);
    const after = registryDocument([actorEntry('agt-a', { ttl: { default: '30m', min: '10m', max: '2h' } })]);
    expect(changesOf(before, after)).to.deep.equal([
      { actor: 'agt-a', change: 'ttl_max_lowered', values: ['8h', '2h'], widening: false },
      { actor: 'agt-a', change: 'ttl_min_raised', values: ['5m', '10m'], widening: false },
      { actor: 'agt-a', change: 'ttl_default_lowered', values: ['1h', '30m'], widening: false },
    ]);
  });

  it('takes a missing min ttl as one second', () => {
    const noMin = registryDocument([actorEntry('agt-a', { ttl: { default: '1h', max: '8h' } })]);
    const oneSecond = registryDocument([actorEntry('agt-a', { ttl: { default: '1h', min: '1s', max: '8h' } })]);
    expect(loadAccess(text(noMin)).actors.get('agt-a')!.ttl).to.deep.equal({ default: 3600, min: 1, max: 28_800 });
    expect(changesOf(noMin, oneSecond)).to.deep.equal([]);
  });

  it('keeps actions and principals sorted and each once, whatever the document order', () => {
    const access = loadAccess(text(registryDocument([actorEntry('agt-a', { actions: ['sign', 'renew'], principals: ['zed', 'agt-a'] })])));
    expect(access.actors.get('agt-a')).to.deep.include({ actions: ['renew', 'sign'], principals: ['agt-a', 'zed'] });
    expect(changesOf(
      registryDocument([actorEntry('agt-a', { actions: ['sign', 'renew'], principals: ['zed', 'agt-a'] })]),
      registryDocument([actorEntry('agt-a', { actions: ['renew', 'sign'], principals: ['agt-a', 'zed'] })]),
    )).to.deep.equal([]);
  });

  it('lists actors in name order even when an earlier actor has a later kind of change', () => {
    const before = registryDocument([actorEntry('agt-a'), actorEntry('agt-b')]);
    const after = registryDocument([
      actorEntry('agt-c'),
      actorEntry('agt-b', { disabled: true }),
      actorEntry('agt-a', { type: 'service' }),
    ]);
    expect(changesOf(before, after).map((c) => `${c.actor} ${c.change}`)).to.deep.equal([
      'agt-a type_changed', 'agt-b actor_disabled', 'agt-c actor_added',
    ]);
  });
});
