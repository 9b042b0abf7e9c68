import { expect } from 'chai';
import { loadRegistry } from '../../../src/registry/load.js';
import { actorEntry, member, registryDocument, signer, text } from '../../fixtures/registry.js';

function withoutAllowedSubjects(name: string) {
  const entry = actorEntry(name);
  delete entry.allowed_subjects;
  return entry;
}

/** What the compiled registry says an actor grants, and how, for each way of granting. */
describe('the compiled registry, grant by grant', () => {
  it('tells grants by signer tuple from those in allowed_subjects, in the trace path', () => {
    const registry = loadRegistry(text(registryDocument([actorEntry('agt-a')], [signer('agt-a', 'iam:bob')])));
    expect(registry.signerPath('agt-a', 'iam:bob')).to.deep.equal(['actor:agt-a#signer@iam:bob']);
    expect(registry.signerPath('agt-a', 'iam:agt-a')).to.deep.equal(['allowed_subjects: iam:agt-a']);
    expect(registry.isSigner('agt-a', 'iam:bob')).to.equal(true);
  });

  it('lists whom each actor grants: subjects directly and groups, nothing invented for what it lacks', () => {
    const registry = loadRegistry(text(registryDocument(
      [actorEntry('agt-listed'), withoutAllowedSubjects('agt-tuples'), withoutAllowedSubjects('agt-groups')],
      [signer('agt-tuples', 'iam:bob'), member('ops', 'iam:carol'), signer('agt-groups', 'group:ops#member')],
    )));
    expect(registry.grantsOf('agt-listed')).to.deep.equal({ subjects: ['agt-listed', 'iam:agt-listed'], groups: [] });
    expect(registry.grantsOf('agt-tuples')).to.deep.equal({ subjects: ['iam:bob'], groups: [] });
    expect(registry.grantsOf('agt-groups')).to.deep.equal({ subjects: [], groups: ['ops'] });
    expect(registry.grantsOf('agt-nobody')).to.equal(undefined);
    expect(registry.isSigner('agt-tuples', 'iam:agt-tuples')).to.equal(false);
  });

  it('answers the path to a group member, and none for a non-member', () => {
    const registry = loadRegistry(text(registryDocument([actorEntry('agt-a')], [member('ops', 'group:sre#member'), member('sre', 'iam:carol')])));
    expect(registry.groupPath('ops', 'iam:carol')).to.deep.equal(['ops', 'sre']);
    expect(registry.groupPath('sre', 'iam:carol')).to.deep.equal(['sre']);
    expect(registry.groupPath('ops', 'iam:dave')).to.equal(undefined);
  });

  it('answers a group that does not exist as one without members', () => {
    const registry = loadRegistry(text(registryDocument([actorEntry('agt-a')], [member('ops', 'iam:carol')])));
    expect(registry.groupMembers('no-such-group')).to.deep.equal([]);
    expect(registry.groupPath('no-such-group', 'iam:carol')).to.equal(undefined);
  });

  it('keeps the actions of each actor apart, whatever their spelling run together', () => {
    const registry = loadRegistry(text(registryDocument([
      actorEntry('agt-a', { actions: ['ab', 'c'] }),
      actorEntry('agt-b', { actions: ['a', 'bc'] }),
    ])));
    expect([...registry.actor('agt-a')!.actions]).to.deep.equal(['ab', 'c']);
    expect([...registry.actor('agt-b')!.actions]).to.deep.equal(['a', 'bc']);
  });

  it('counts no relationships in a document without any', () => {
    const document = registryDocument([actorEntry('agt-a')]);
    delete document.relationships;
    expect(loadRegistry(text(document)).counts.relationships).to.equal(0);
  });
});
