import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MODULE = fileURLToPath(new URL('../dist/bin/heap-growing.js', import.meta.url));

/** The highest heap in use of a process that holds 150 MB and keeps promoting short-lived batches, with the cap given. */
function peakHeapMb(percent: number): number {
  const script = `
    const { capHeapGrowing } = await import(${JSON.stringify(MODULE)});
    capHeapGrowing(${percent});
    const live = []; for (let i = 0; i < 800000; i++) live.push({ a: i, b: 'x' + i, c: [i, i + 1] });
    let peak = 0; const keep = [];
    for (let round = 0; round < 150; round++) {
      const batch = []; for (let i = 0; i < 30000; i++) batch.push({ v: i, s: 'y' + i, arr: [i, i] });
      keep.push(batch); if (keep.length > 3) keep.shift();
      peak = Math.max(peak, process.memoryUsage().heapUsed);
      await new Promise((r) => setImmediate(r));
    }
    console.log(Math.round(peak / 1048576));`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim());
}

describe('STAGE_HEAP_GROWING_PERCENT', () => {
  it('keeps the heap of a stage close to what it holds: garbage is collected before the heap doubles', () => {
    const own = peakHeapMb(0);
    const capped = peakHeapMb(20);
    expect(capped).toBeLessThan(own * 0.85);
  }, 120_000);
});
