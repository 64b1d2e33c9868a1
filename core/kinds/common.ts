import { z } from 'zod';
import type { KeyedList } from './module.js';

/** Timestamps arrive as ISO-8601 text or epoch milliseconds; inside the pipeline they are epoch ms. */
export const timestamp = z.union([
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
  z
    .number()
    .int()
    .min(946_684_800_000, 'epoch milliseconds after 2000-01-01')
    .max(4_102_444_800_000, 'epoch milliseconds before 2100-01-01'),
]);

/** Fields every reading may carry, whatever its kind. */
export const commonReading = {
  ts: timestamp,
  seq: z.number().int().nonnegative().optional(),
  battery: z.number().min(0).max(1).optional(),
  rssi: z.number().min(-150).max(0).optional(),
};

/** Node ids and districts become MQTT topic levels and Kafka keys: no separators or wildcards. */
export const topicLevel = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._:-]+$/, 'only letters, digits and . _ : - are allowed');

export const districtName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9 ._-]+$/, 'only letters, digits, space and . _ - are allowed');

/** A keyed list of a KPI section whose entries carry their id as the string field `idField`. */
export function keyedList(field: string, item: string, idField: string): KeyedList {
  return { field, item, id: (entry) => String((entry as Record<string, unknown>)[idField]) };
}
