/** Deterministic picks for the scenarios: the same items and random stream give the same choice. */

export function uniq<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}

/** A shuffled copy (Fisher-Yates) drawn from `rand`. */
export function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
