import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { STAGE_NODE_FLAGS } from './target.js';

/** The largest young generation (V8's new space) of a process that allocates short-lived batches, started with `flags`. */
function newSpaceMaxMb(flags: readonly string[]): number {
  const script = `
    const v8 = await import('node:v8');
    const keep = []; let max = 0;
    for (let r = 0; r < 200; r++) {
      const b = []; for (let i = 0; i < 50000; i++) b.push({ i, s: 'x' + i });
      keep.push(b); if (keep.length > 2) keep.shift();
      max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
      await new Promise((r) => setImmediate(r));
    }
    console.log(Math.round(max / 1048576));`;
  return Number(execFileSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8' }).trim());
}

describe('the stages as the bench runs them', () => {
  it("keep V8's young generation under 48 MB, where Node 24 lets it grow to 128 MB", () => {
    expect(newSpaceMaxMb([])).toBe(128);
    expect(newSpaceMaxMb(STAGE_NODE_FLAGS)).toBeLessThanOrEqual(48);
  }, 60_000);
});
