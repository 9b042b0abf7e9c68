import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { RegistryValidationError } from '../../../src/core/errors.js';
import { BATCH, workerMessages } from '../../../src/registry/load-in-worker.js';
import type { WorkerMessage } from '../../../src/registry/load-in-worker.js';
import { validateRegistryText } from '../../../src/registry/load.js';
import { actorEntry, member, registryDocument, signer, text } from '../../fixtures/registry.js';

/** What the reload worker (load-worker.ts) posts for a document, in order, told in-process. */
describe('the reload worker messages (workerMessages)', () => {
  const sha256 = (input: string | Uint8Array) => createHash('sha256').update(input).digest('hex');

  it('sends the hash of the text first, before it validates anything', () => {
    const document = 'not even JSON';
    const messages = workerMessages(document);
    // Taking only the first message must not run validation: a repeated document stops here.
    expect(messages.next().value).to.deep.equal({ type: 'hash', hash: sha256(document) });
  });

  it('hashes UTF-8 bytes as given, the same as their text', () => {
    const document = text(registryDocument([actorEntry('agt-ü')]));
    const [fromBytes] = workerMessages(Buffer.from(document));
    expect(fromBytes).to.deep.equal({ type: 'hash', hash: sha256(document) });
  });

  it('answers an invalid document with its hash, then every problem and their count, and nothing more', () => {
    const bad = text(registryDocument([actorEntry('agt-x', { ttl: { default: '9h', max: '1h' } }), actorEntry('agt-x')]));
    let expected: RegistryValidationError | undefined;
    try { validateRegistryText(bad); } catch (error) { expected = error as RegistryValidationError; }
    expect(expected).to.be.instanceOf(RegistryValidationError);
    expect([...workerMessages(bad)]).to.deep.equal([
      { type: 'hash', hash: sha256(bad) },
      { type: 'invalid', details: expected!.details, total: expected!.total },
    ]);
  });

  it('refuses bytes that are not UTF-8 as an invalid document', () => {
    const bytes = new Uint8Array([0x7b, 0xff, 0x7d]);
    expect([...workerMessages(bytes)].slice(1)).to.deep.equal([
      { type: 'invalid', details: [{ path: '(root)', message: 'not valid UTF-8' }], total: 1 },
    ]);
  });

  it('sends a valid document as its head and revision, then relationships and then actors in batches of BATCH, then done', () => {
    const actors = Array.from({ length: BATCH + 1 }, (_, i) => actorEntry(`agt-a${i}`));
    const relationships = [
      ...Array.from({ length: BATCH }, (_, i) => member('ops', `iam:user${i}`)),
      signer('agt-a0', 'group:ops#member'),
    ];
    const document = text(registryDocument(actors, relationships, { metadata: { name: 'batches' } }));
    const valid = validateRegistryText(document);
    const messages: WorkerMessage[] = [...workerMessages(Buffer.from(document))];
    expect(messages.map((m) => m.type)).to.deep.equal(['hash', 'head', 'relationships', 'relationships', 'actors', 'actors', 'done']);
    const { actors: validActors, relationships: validRelationships, ...head } = valid.document;
    expect(messages[1]).to.deep.equal({ type: 'head', revision: valid.revision, document: head });
    const items = (type: string) => messages.flatMap((m) => (m.type === type && 'items' in m ? [m.items] : []));
    expect(items('actors').map((batch) => batch.length)).to.deep.equal([BATCH, 1]);
    expect(items('actors').flat()).to.deep.equal(validActors);
    expect(items('relationships').map((batch) => batch.length)).to.deep.equal([BATCH, 1]);
    expect(items('relationships').flat()).to.deep.equal(validRelationships);
  });

  it('sends a full last batch without an empty one after it', () => {
    const document = text(registryDocument(Array.from({ length: BATCH }, (_, i) => actorEntry(`agt-a${i}`))));
    expect([...workerMessages(document)].map((m) => m.type)).to.deep.equal(['hash', 'head', 'actors', 'done']);
  });

  it('sends no relationships batch for a document without relationships', () => {
    const document = text({ schema: 'flex-auth.registry/v1', actors: [actorEntry('agt-a')] });
    expect([...workerMessages(document)].map((m) => m.type)).to.deep.equal(['hash', 'head', 'actors', 'done']);
  });
});
