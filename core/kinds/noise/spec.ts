import { z } from 'zod';
import { commonReading } from '../common.js';

export const ZONE_CLASSES = ['0', '1', '2', '3', '4a', '4b'] as const;
export type ZoneClass = (typeof ZONE_CLASSES)[number];

const level = z.number().min(0).max(194); // dB(A); 194 dB is the physical limit in air

export const noiseReading = z
  .object({
    ...commonReading,
    laeq: level,
    lamax: level.optional(),
    lamin: level.optional(),
    l10: level.optional(),
    l50: level.optional(),
    l90: level.optional(),
    periodS: z.number().int().min(1).max(3600).default(60),
  })
  .refine((r) => r.lamax === undefined || r.lamax >= r.laeq, { message: 'lamax must be >= laeq', path: ['lamax'] })
  .refine((r) => r.lamin === undefined || r.lamin <= r.laeq, { message: 'lamin must be <= laeq', path: ['lamin'] });
export type NoiseReading = z.infer<typeof noiseReading>;

export const noiseAttrs = z.object({
  station: z.string().min(1),
  zoneClass: z.enum(ZONE_CLASSES),
});

/** GB 3096-2008 environmental noise limits, Leq dB(A), by zone class and period (day 06-22, night 22-06). */
export const ZONE_LIMITS: Record<ZoneClass, { day: number; night: number }> = {
  '0': { day: 50, night: 40 },
  '1': { day: 55, night: 45 },
  '2': { day: 60, night: 50 },
  '3': { day: 65, night: 55 },
  '4a': { day: 70, night: 55 },
  '4b': { day: 70, night: 60 },
};

/** Night-time sudden noise: LAmax may exceed the night limit by at most this much. */
export const NIGHT_PEAK_ALLOWANCE_DB = 15;
