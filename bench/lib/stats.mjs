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

export function rotate(list, by) {
  if (list.length === 0) return list;
  const k = ((by % list.length) + list.length) % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/**
 * The (size, target) pairs of one round, in the order they run. Sizes rotate each round, and
 * each size's targets rotate each round too, by the round plus the size's own index, so no size
 * keeps one target order for the whole run (rotating by the size's place in the round instead
 * cancels out when there are as many targets as sizes).
 */
export function schedule(sizes, targets, round) {
  return rotate(sizes, round).flatMap((size) => rotate(targets, round + sizes.indexOf(size)).map((target) => ({ size, target })));
}

export function fmt(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
