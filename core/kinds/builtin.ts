import type { z } from 'zod';
import { streetlightAttrs, streetlightReading } from './streetlight/spec.js';
import { groundwaterAttrs, groundwaterReading } from './groundwater/spec.js';
import { noiseAttrs, noiseReading } from './noise/spec.js';
import { parkingAttrs, parkingReading } from './parking/spec.js';

/**
 * One entry per sensor kind: its reading schema, its static registry attributes, how often a
 * healthy node reports, and the name of its section in the KPIs (`/api/v1/kpis`; the domain's word
 * where the API already uses one: the section of `streetlight` is `lighting`). Stages that handle
 * every kind take a record keyed by Kind, so a kind added here and not handled there does not
 * compile.
 */
export const KINDS = {
  streetlight: { reading: streetlightReading, attrs: streetlightAttrs, expectedIntervalS: 300, section: 'lighting' },
  groundwater: { reading: groundwaterReading, attrs: groundwaterAttrs, expectedIntervalS: 60, section: 'groundwater' },
  noise: { reading: noiseReading, attrs: noiseAttrs, expectedIntervalS: 60, section: 'noise' },
  parking: { reading: parkingReading, attrs: parkingAttrs, expectedIntervalS: 600, section: 'parking' },
} as const;

export type Kind = keyof typeof KINDS;
export const KIND_NAMES = Object.keys(KINDS) as Kind[];

export function isKind(value: string): value is Kind {
  return Object.hasOwn(KINDS, value);
}

/** The KPI section of a kind, e.g. `lighting` for `streetlight`. */
export type SectionOf<K extends Kind> = (typeof KINDS)[K]['section'];

export type ReadingOf<K extends Kind> = z.output<(typeof KINDS)[K]['reading']>;
export type AttrsOf<K extends Kind> = z.output<(typeof KINDS)[K]['attrs']>;

export * from './common.js';
export * from './streetlight/spec.js';
export * from './groundwater/spec.js';
export * from './noise/spec.js';
export * from './parking/spec.js';
