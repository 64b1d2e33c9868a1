/** A node's latest reading still describes it when no older than its interval times the grace factor. */
export function isFresh(lastTs: number | undefined, intervalS: number, graceFactor: number, now: number): boolean {
  return lastTs !== undefined && now - lastTs <= intervalS * graceFactor * 1000;
}

/**
 * A node never heard from is unknown while the pipeline has not been listening for its interval
 * times the grace factor yet; after that its silence counts (a lamp that does not report is not lit).
 */
export function inWarmUp(since: number, intervalS: number, graceFactor: number, now: number): boolean {
  return now - since < intervalS * graceFactor * 1000;
}
