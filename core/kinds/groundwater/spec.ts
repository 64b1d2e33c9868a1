import { z } from 'zod';
import { commonReading } from '../common.js';

export const groundwaterReading = z.object({
  ...commonReading,
  /** Metres above sea level; the observed range since 2003 is about 27.3 to 30.7 m, so anything outside 0..100 is a broken sensor. */
  waterTableM: z.number().min(0).max(100),
  tempC: z.number().min(-10).max(60).optional(),
});
export type GroundwaterReading = z.infer<typeof groundwaterReading>;

export const warningLines = z
  .object({ yellow: z.number(), orange: z.number(), red: z.number() })
  .refine((l) => l.yellow > l.orange && l.orange > l.red, { message: 'warning lines must satisfy yellow > orange > red' });
export type WarningLines = z.infer<typeof warningLines>;

export const groundwaterAttrs = z.object({
  well: z.string().min(1),
  springGroup: z.string().min(1),
  lines: warningLines,
});
