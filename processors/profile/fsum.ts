/**
 * Exact sums of floating-point numbers (Shewchuk's expansions, as in Python's `math.fsum`).
 * A mean is merged from partitions as sum + count; plain `+` rounds differently depending on how
 * the nodes are split and in which order partials are merged, so the city's mean would change
 * with the partition count. An expansion holds the sum exactly (a few non-overlapping doubles,
 * smallest first) and `roundSum` rounds it once, correctly: any split gives the same number.
 */

/** Adds `x` to the expansion `partials` in place (exact). */
export function addTo(partials: number[], x: number): void {
  let i = 0;
  for (let j = 0; j < partials.length; j++) {
    let y = partials[j]!;
    if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
    const hi = x + y;
    const lo = y - (hi - x);
    if (lo !== 0) partials[i++] = lo;
    x = hi;
  }
  partials.length = i;
  partials.push(x);
}

/** The expansion's exact value rounded to the nearest double (ties to even), as CPython's fsum does. */
export function roundSum(partials: readonly number[]): number {
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n]!;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n]!;
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  // Half-way case: the rest of the expansion decides which way the tie goes.
  if (n > 0 && ((lo < 0 && partials[n - 1]! < 0) || (lo > 0 && partials[n - 1]! > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}
