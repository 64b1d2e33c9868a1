import type { z } from 'zod';
import { streetlightAttrs, streetlightReading } from './streetlight.js';
import { groundwaterAttrs, groundwaterReading } from './groundwater.js';
import { noiseAttrs, noiseReading } from './noise.js';
import { parkingAttrs, parkingReading } from './parking.js';

/**
 * One entry per sensor kind: its reading schema, its static registry attributes, and how often a
 * healthy node reports. A new kind is a new file plus one line here; nothing else keys on the list.
 */
export const KINDS = {
  streetlight: { reading: streetlightReading, attrs: streetlightAttrs, expectedIntervalS: 300 },
  groundwater: { reading: groundwaterReading, attrs: groundwaterAttrs, expectedIntervalS: 60 },
  noise: { reading: noiseReading, attrs: noiseAttrs, expectedIntervalS: 60 },
  parking: { reading: parkingReading, attrs: parkingAttrs, expectedIntervalS: 600 },
} as const;

export type Kind = keyof typeof KINDS;
export const KIND_NAMES = Object.keys(KINDS) as Kind[];

export function isKind(value: string): value is Kind {
  return Object.hasOwn(KINDS, value);
}

export type ReadingOf<K extends Kind> = z.output<(typeof KINDS)[K]['reading']>;
export type AttrsOf<K extends Kind> = z.output<(typeof KINDS)[K]['attrs']>;

export * from './common.js';
export * from './streetlight.js';
export * from './groundwater.js';
export * from './noise.js';
export * from './parking.js';
