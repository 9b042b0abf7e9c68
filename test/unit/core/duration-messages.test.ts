import { expect } from 'chai';
import { formatDuration, MAX_DURATION_SECONDS, parseDuration } from '../../../src/core/duration.js';

const HINT = 'must be a positive whole number of seconds or a duration such as 90s, 15m, 1h30m';

/** What a refused duration says: the unit hint only for a positive number written as a string. */
describe('durations, what a refusal says', () => {
  it('tells a positive number written as a string to add a unit or send the number', () => {
    expect(parseDuration('90')).to.deep.equal({ ok: false, message: 'a duration string needs a unit (90s, or 1h30m and the like), or send the number 90' });
  });

  it('gives the general hint for zero, and for digits with anything around them', () => {
    for (const value of ['0', '00', 'x90', '90x', '1e3', ' 90']) {
      expect(parseDuration(value), value).to.deep.equal({ ok: false, message: HINT });
    }
  });

  it('names the ceiling when a duration is past it', () => {
    const ceiling = formatDuration(MAX_DURATION_SECONDS);
    expect(parseDuration(`${MAX_DURATION_SECONDS / 3600 + 1}h`)).to.deep.equal({ ok: false, message: `must be at most ${ceiling}` });
    expect(ceiling).to.equal('87600h');
  });

  it('formats zero seconds as 0s', () => {
    expect(formatDuration(0)).to.equal('0s');
  });
});
