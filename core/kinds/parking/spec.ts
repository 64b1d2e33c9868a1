import { z } from 'zod';
import { commonReading } from '../common.js';

export const parkingReading = z.object({
  ...commonReading,
  status: z.enum(['occupied', 'free']),
  heartbeat: z.boolean().optional(),
  batteryV: z.number().min(0).max(5).optional(),
});
export type ParkingReading = z.infer<typeof parkingReading>;

export const parkingAttrs = z.object({
  lotId: z.string().min(1),
  lotName: z.string().min(1),
  spaces: z.number().int().positive(),
});
