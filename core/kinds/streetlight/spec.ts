import { z } from 'zod';
import { commonReading } from '../common.js';

export const ROAD_CLASSES = ['expressway', 'main', 'secondary', 'branch', 'alley'] as const;
export type RoadClass = (typeof ROAD_CLASSES)[number];

export const streetlightReading = z.object({
  ...commonReading,
  powerState: z.enum(['on', 'off', 'low']),
  dim: z.number().min(0).max(100).optional(),
  powerW: z.number().min(0).max(10_000).optional(),
  voltageV: z.number().min(0).max(1_000).optional(),
  currentA: z.number().min(0).max(100).optional(),
  pf: z.number().min(0).max(1).optional(),
  energyWh: z.number().min(0).optional(),
  faults: z.array(z.string().max(64)).max(32).optional(),
});
export type StreetlightReading = z.infer<typeof streetlightReading>;

export const streetlightAttrs = z.object({
  road: z.string().min(1),
  roadClass: z.enum(ROAD_CLASSES),
  circuit: z.string().min(1),
  ratedW: z.number().positive(),
});
