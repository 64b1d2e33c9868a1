export { NIGHT_PEAK_ALLOWANCE_DB, ZONE_LIMITS } from '../../index.js';

export interface LevelSample {
  level: number;
  /** Duration the level stands for (seconds). */
  durationS: number;
}

/**
 * Equivalent continuous level: an ENERGY average, never an arithmetic one,
 * Leq = 10*log10( sum(t_i * 10^(L_i/10)) / sum(t_i) ). Equal durations reduce to the plain
 * 10*log10((1/N) * sum 10^(L_i/10)).
 */
export function energyAverage(samples: LevelSample[]): number | null {
  let energy = 0;
  let time = 0;
  for (const s of samples) {
    energy += s.durationS * 10 ** (s.level / 10);
    time += s.durationS;
  }
  return time === 0 ? null : 10 * Math.log10(energy / time);
}

/** Ldn (informative): 10*log10((16*10^(Ld/10) + 8*10^((Ln+10)/10)) / 24). */
export function dayNightLevel(ld: number, ln: number): number {
  return 10 * Math.log10((16 * 10 ** (ld / 10) + 8 * 10 ** ((ln + 10) / 10)) / 24);
}
