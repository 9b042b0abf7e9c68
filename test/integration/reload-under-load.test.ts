import { expect } from 'chai';
import { reloadUnderLoad } from '../helpers/reload-under-load.js';

describe('reload under load', function () {
  this.timeout(90_000);

  it('answers every check while the registry is replaced many times, some invalid, and logs each once', async () => {
    // Swaps come slower than the file source's 200 ms debounce, so each one is a reload of its own.
    const f = await reloadUnderLoad({ durationMs: 6000, concurrency: 8, swapIntervalMs: 300 });
    const summary = JSON.stringify(f);
    expect(f.failed, summary).to.equal(0);
    expect(f.unexpectedRevisions, summary).to.equal(0);
    expect(f.answered, summary).to.equal(f.requests);
    expect(f.decisionLines, summary).to.equal(f.answered);
    expect(f.missingLines, summary).to.equal(0);
    expect(f.duplicateLines, summary).to.equal(0);
    expect(f.exitCode).to.equal(0);
    // The scenario really reloaded and really refused bad documents while serving.
    expect(f.invalidWrites, summary).to.be.greaterThan(3);
    expect(f.failuresLogged, summary).to.be.greaterThan(0);
    expect(f.reloadsLogged, summary).to.be.greaterThan(3);
    expect(f.revisionsSeen, summary).to.be.greaterThan(2);
  });
});
