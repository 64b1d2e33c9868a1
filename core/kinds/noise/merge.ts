import type { EvalContext, Evaluation, KindMerger } from '../../../processors/types.js';
import type { NoiseSection } from './processor.js';
import type { NoiseKpis } from './kpis.js';

/** Stations judged on the last closed hour: complete ones compliant or not, incomplete ones neither. */
export class NoiseMerger implements KindMerger<NoiseSection> {
  merge(sections: NoiseSection[], _ctx: EvalContext): Evaluation {
    const list = sections.flatMap((s) => s.stations).sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    const byZone: Record<string, { stations: number; complete: number; compliant: number }> = {};
    let complete = 0;
    let compliant = 0;
    for (const row of list) {
      const zone = (byZone[row.zoneClass] ??= { stations: 0, complete: 0, compliant: 0 });
      zone.stations++;
      if (!row.lastHour.complete) continue;
      complete++;
      zone.complete++;
      if (!row.lastHour.exceeds) {
        compliant++;
        zone.compliant++;
      }
    }
    return {
      kpis: {
        stations: list.length,
        hour: sections.length ? Math.max(...sections.map((s) => s.hour)) : null,
        complete,
        incomplete: list.length - complete,
        compliant,
        complianceRate: complete === 0 ? null : compliant / complete,
        byZoneClass: Object.fromEntries(Object.entries(byZone).sort(([a], [b]) => a.localeCompare(b))),
        list,
      } satisfies NoiseKpis,
      conditions: [],
    };
  }
}
