import { describe, expect, it } from 'vitest';
import type { Kpis } from '../core/index.js';
import { KpiFeed, RECENT_UPDATES } from './kpi-feed.js';

const kpis = (n: number) => ({ evaluatedAt: n, nodes: { total: n } }) as unknown as Kpis;

describe('KpiFeed.since: what a client that fell behind is sent', () => {
  it('the patches after the evaluation it holds, while they are kept and each applies to the one before', () => {
    const feed = new KpiFeed();
    const u1 = feed.next(kpis(1), false); // nobody listening: not compared
    expect(feed.since(u1.seq)).toEqual([]);
    const [u2, u3] = [feed.next(kpis(2), true), feed.next(kpis(3), true)];
    expect(feed.since(u1.seq)?.map((u) => u.seq)).toEqual([u2.seq, u3.seq]);
    expect(feed.since(u1.seq - 1)).toBeUndefined(); // before an evaluation nothing was compared with
    expect(u2.patch(null).toString()).toContain('"op":"replace","path":"/evaluatedAt","value":2');
    for (let n = 4; n < 4 + RECENT_UPDATES; n++) feed.next(kpis(n), true);
    expect(feed.since(u1.seq)).toBeUndefined(); // too far behind: the whole document
    expect(feed.since(u3.seq)).toHaveLength(RECENT_UPDATES);
    feed.next(kpis(100), false);
    expect(feed.since(u3.seq)).toBeUndefined();
  });
});
