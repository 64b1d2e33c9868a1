import type { EvalContext, Evaluation, KindMerger } from '../../../processors/types.js';
import { BANDS, type Band } from './level.js';
import type { GroundwaterSection, WellRow } from './processor.js';
import type { GroundwaterKpis } from './kpis.js';

/** Wells by band and spring group (lowest level, worst band), and the per-well rows for the board. */
export class GroundwaterMerger implements KindMerger<GroundwaterSection> {
  merge(sections: GroundwaterSection[], _ctx: EvalContext): Evaluation {
    const wells: WellRow[] = sections.flatMap((s) => s.wells).sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    const byBand: Record<Band, number> = { normal: 0, yellow: 0, orange: 0, red: 0 };
    const groups = new Map<string, { minLevel: number; worstBand: Band; wells: number }>();
    for (const w of wells) {
      if (w.level === null || w.band === null) continue;
      byBand[w.band]++;
      const g = groups.get(w.springGroup) ?? { minLevel: Infinity, worstBand: 'normal' as Band, wells: 0 };
      g.wells++;
      g.minLevel = Math.min(g.minLevel, w.level);
      if (BANDS.indexOf(w.band) > BANDS.indexOf(g.worstBand)) g.worstBand = w.band;
      groups.set(w.springGroup, g);
    }
    return {
      kpis: {
        wells: wells.length,
        reporting: wells.filter((w) => w.level !== null).length,
        byBand,
        springGroups: Object.fromEntries([...groups].sort(([a], [b]) => a.localeCompare(b))),
        list: wells,
      } satisfies GroundwaterKpis,
      conditions: [],
    };
  }
}
