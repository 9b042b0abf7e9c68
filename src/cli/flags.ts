/** Levenshtein distance: the number of single-character edits between two short strings. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The flag a command's usage text names that is closest to a misspelt one, or undefined
 * when none is close enough to be a plausible typo.
 */
export function closestFlag(given: string, usage: string): string | undefined {
  const known = [...new Set(usage.match(/--[a-z][a-z-]*/g) ?? [])];
  let best: { flag: string; distance: number } | undefined;
  for (const flag of known) {
    const distance = editDistance(given, flag);
    if (best === undefined || distance < best.distance) best = { flag, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(given.length / 3)) ? best.flag : undefined;
}
