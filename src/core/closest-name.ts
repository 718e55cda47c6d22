/**
 * The valid name a mistyped one most likely meant: the nearest by edit distance (insertions,
 * deletions, substitutions and swaps of two neighbouring letters each count one; case is
 * ignored), or `undefined` when none is near enough to be a typo rather than another word.
 * "Near enough" grows with the name: one edit up to 5 letters, two up to 8, three beyond. Ties go
 * to the name listed first.
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const limit = name.length <= 5 ? 1 : name.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** What to tell a user who wrote an unknown name: the closest valid one, or all of them. */
export function unknownNameHint(name: string, candidates: readonly string[]): string {
  const closest = closestName(name, candidates);
  return closest !== undefined ? `did you mean "${closest}"?` : `valid keys: ${candidates.join(', ')}`;
}

/** Optimal string alignment distance (Damerau-Levenshtein without moving a letter twice). */
function editDistance(a: string, b: string): number {
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, before[j - 2]! + 1);
      }
      current.push(distance);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}
