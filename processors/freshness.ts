/** A node's latest reading still describes it when no older than its interval times the grace factor. */
export function isFresh(lastTs: number | undefined, intervalS: number, graceFactor: number, now: number): boolean {
  return lastTs !== undefined && now - lastTs <= intervalS * graceFactor * 1000;
}
