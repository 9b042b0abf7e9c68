import { expect } from 'chai';
import { formatDuration, MAX_DURATION_SECONDS, parseDuration } from '../../../src/core/duration.js';

function seconds(value: unknown): number | undefined {
  const parsed = parseDuration(value);
  return parsed.ok ? parsed.seconds : undefined;
}

describe('durations', () => {
  it('reads whole seconds given as a number', () => {
    expect(seconds(3600)).to.equal(3600);
    expect(seconds(1)).to.equal(1);
  });

  it('reads h, m and s parts in that order', () => {
    expect(seconds('90s')).to.equal(90);
    expect(seconds('15m')).to.equal(900);
    expect(seconds('1h30m')).to.equal(5400);
    expect(seconds('1h2m3s')).to.equal(3723);
    expect(seconds('8h')).to.equal(28800);
  });

  for (const bad of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '', '0s', '0h0m', '-5m', '1.5h', '5x', '5', '1d',
    '30m1h', '1h 30m', ' 1h', '1H', 'h', null, true, [], {}, '1h1h']) {
    it(`rejects ${JSON.stringify(bad) ?? String(bad)}`, () => {
      expect(parseDuration(bad).ok).to.equal(false);
    });
  }

  it('says how to write a string of digits alone: with a unit, or as a number', () => {
    const parsed = parseDuration('3600');
    expect(parsed.ok).to.equal(false);
    expect(!parsed.ok && parsed.message).to.include('3600s').and.include('the number 3600');
    expect(parseDuration(3600)).to.deep.equal({ ok: true, seconds: 3600 });
  });

  it('rejects durations beyond the ten-year ceiling and accepts the ceiling itself', () => {
    expect(seconds(MAX_DURATION_SECONDS)).to.equal(MAX_DURATION_SECONDS);
    expect(parseDuration(MAX_DURATION_SECONDS + 1).ok).to.equal(false);
    expect(parseDuration('999999999h').ok).to.equal(false);
  });

  it('formats seconds compactly and round-trips through the parser', () => {
    expect(formatDuration(28800)).to.equal('8h');
    expect(formatDuration(5400)).to.equal('1h30m');
    expect(formatDuration(90)).to.equal('1m30s');
    expect(formatDuration(3596400)).to.equal('999h');
    for (const n of [1, 59, 60, 61, 3599, 3600, 3661, 86399, 999 * 3600]) expect(seconds(formatDuration(n))).to.equal(n);
  });
});
