import { setFlagsFromString } from 'node:v8';

/**
 * Caps how far V8 grows the heap over the data that survived the last full collection before it
 * collects again (`--heap-growing-percent`; V8 reads it at every full collection, so setting it
 * at start works like the command-line flag). V8's own factor goes up to 2-4x on a large heap: a
 * stage holding 300-450 MB of registry and node state then sat at 600-900 MB of heap, the rest
 * garbage waiting for the next full collection. 0 leaves V8's choice.
 */
export function capHeapGrowing(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
