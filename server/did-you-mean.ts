/**
 * "Did you mean …?" for a mistyped name (an environment variable, an event type): the closest
 * candidate by Levenshtein distance, when it is close enough to be a typo.
 */

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/**
 * The candidate closest to `word`, or undefined when the closest is farther than `maxDistance(best)`.
 * @example closestName('colour', ['color', 'size'], () => 2) // 'color'
 */
export function closestName(word: string, candidates: Iterable<string>, maxDistance: (candidate: string) => number): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= maxDistance(best) ? best : undefined;
}
