import { ZONE_LIMITS, type NodeOf, type NoiseReading, type ZoneClass } from '../../index.js';
import { localHour, noisePeriod } from '../../time/index.js';
import { clamp, gauss, nodeHash, round, unit } from '../../../simulators/hash.js';
import { effectsOf, rssiOf, S, type ModelContext } from '../../../simulators/models/context.js';
import { HEALTHY_STATIONS } from './scenarios.js';

/** dB added to the base level by local hour: morning and evening rush, quiet small hours. */
const HOUR_PROFILE = [-2, -3, -3.5, -3.5, -3, -1.5, -2, 0.5, 1.5, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1.5, 0.5, -0.5, -1, 0, -1];

export function noiseLimit(zoneClass: ZoneClass, t: number): number {
  return ZONE_LIMITS[zoneClass][noisePeriod(t)];
}

/**
 * Mean minute LAeq of a station at time t: 3 dB under the zone limit of the period, shaped by the
 * hour, with a per-station offset of -3.5..+0.5 dB (roadside 4a: about 64-69 by day); a station under
 * construction noise is far over its limit.
 */
export function noiseMeanLevel(node: NodeOf<'noise'>, t: number, ctx: ModelContext): { mean: number; construction: boolean } {
  const h = nodeHash(node.nodeId, ctx.seed);
  const period = noisePeriod(t);
  const limit = ZONE_LIMITS[node.zoneClass][period];
  const works = effectsOf(ctx, 'noise', HEALTHY_STATIONS).noisyStations.get(node.nodeId);
  if (works === 'always' || (works === 'night' && period === 'night')) {
    return { mean: limit + (period === 'night' ? 14 : 8), construction: true };
  }
  const offset = -3.5 + 4 * unit(h, S.NOISE_OFFSET);
  return { mean: limit - 3 + HOUR_PROFILE[localHour(t)]! + offset, construction: false };
}

/** One-minute station output: LAeq, LAmax > LAeq > LAmin, L10 >= L50 >= L90, period 60 s. */
export function noiseModel(node: NodeOf<'noise'>, t: number, ctx: ModelContext): NoiseReading {
  const h = nodeHash(node.nodeId, ctx.seed);
  const minute = Math.floor(t / 60_000);
  const { mean, construction } = noiseMeanLevel(node, t, ctx);
  const laeq = mean + clamp(gauss(h, S.LAEQ, minute) * (construction ? 2 : 1.5), -3.75, 3.75);
  const l90 = laeq - (4 + 3 * unit(h, S.L90, minute));
  const l50 = laeq - (1.5 + 2 * unit(h, S.L50, minute));
  const l10 = laeq + (0.5 + 2 * unit(h, S.L10, minute));
  const peak = unit(h, S.LAMAX, minute);
  // Construction: impacts and breakers, 9-17 dB over the minute's Leq; otherwise passing traffic, 6-13 dB.
  const lamax = laeq + (construction ? 9 + 8 * peak : 6 + 7 * peak * peak);
  const lamin = l90 - (0.5 + 2 * unit(h, S.LAMIN, minute));
  return {
    ts: t,
    laeq: round(laeq, 1),
    lamax: round(lamax, 1),
    lamin: round(lamin, 1),
    l10: round(l10, 1),
    l50: round(l50, 1),
    l90: round(l90, 1),
    periodS: 60,
    rssi: rssiOf(h, minute),
  };
}
