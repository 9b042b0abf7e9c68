export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function min(values) {
  const v = values.filter(Number.isFinite);
  return v.length ? Math.min(...v) : null;
}

export function max(values) {
  const v = values.filter(Number.isFinite);
  return v.length ? Math.max(...v) : null;
}

export function ratio(a, b) {
  return a === null || b === null || b === 0 || a === undefined || b === undefined ? null : a / b;
}

/** A seeded generator (mulberry32), so that a report made twice from one run reads the same. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A percentile bootstrap interval of `statistic(items)`: the items (a run's rounds) drawn again
 * with replacement, many times. How far the figure would move on another run of the same noise;
 * null when there are fewer than two items or no finite resample.
 */
export function bootstrapInterval(items, statistic, { level = 0.9, resamples = 2000, seed = 23 } = {}) {
  if (items.length < 2) return null;
  const next = seeded(seed);
  const values = [];
  for (let i = 0; i < resamples; i += 1) {
    const value = statistic(Array.from(items, () => items[Math.floor(next() * items.length)]));
    if (Number.isFinite(value)) values.push(value);
  }
  if (values.length === 0) return null;
  values.sort((x, y) => x - y);
  const at = (q) => values[Math.min(values.length - 1, Math.floor(q * values.length))];
  return [at((1 - level) / 2), at((1 + level) / 2)];
}

export function rotate(list, by) {
  if (list.length === 0) return list;
  const k = ((by % list.length) + list.length) % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/**
 * Row k of a Williams design for n treatments: a Latin square whose rows also balance what runs
 * right before what. For even n, n rows give every ordered pair of targets once; for odd n it
 * takes 2n rows, so rows alternate with their mirror images and come close within a few rounds.
 * A plain rotation keeps the cycle, so each target would follow the same one every round.
 */
export function balancedOrder(n, k) {
  const first = [];
  for (let lo = 0, hi = n - 1, j = 0; first.length < n; j += 1) first.push(j % 2 === 0 ? lo++ : hi--);
  const row = (r) => first.map((x) => (x + r) % n);
  if (n % 2 === 0) return row(((k % n) + n) % n);
  const m = ((k % (2 * n)) + 2 * n) % (2 * n);
  return m % 2 === 0 ? row(m / 2) : row((m - 1) / 2).reverse();
}

/**
 * The (size, target) pairs of one round, in the order they run. Sizes rotate each round; each
 * size's targets follow a balanced order (above), its row set by the round plus the size's own
 * index, so no size keeps one target order, and no target always runs after the same one.
 */
export function schedule(sizes, targets, round) {
  return rotate(sizes, round).flatMap((size) => balancedOrder(targets.length, round + sizes.indexOf(size)).map((i) => ({ size, target: targets[i] })));
}

export function fmt(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
