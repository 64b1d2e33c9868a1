import type { KindModule } from '../module.js';
import { lightingScenarios } from './scenarios.js';
import { lightingDashboard } from './dashboard.js';
import { lightingKpisSchema } from './kpis.js';
import { LightingMerger } from './merge.js';
import { streetlightModel } from './model.js';
import { LIGHTING_MEASUREMENTS, lightingPoints } from './points.js';
import { LightingProcessor, type LightingSection } from './processor.js';
import { streetlightAttrs, streetlightReading } from './spec.js';

/** Street lamps: lighting rate per road class (CJJ 45), dark lamps and circuits. KPI section `lighting`. */
export const streetlight: KindModule<
  'streetlight',
  'lighting',
  typeof streetlightReading,
  typeof streetlightAttrs,
  LightingSection,
  typeof LIGHTING_MEASUREMENTS
> = {
  name: 'streetlight',
  section: 'lighting',
  reading: streetlightReading,
  attrs: streetlightAttrs,
  expectedIntervalS: 300,
  alerts: ['StreetlightOut', 'StreetlightOnInDaytime', 'CircuitDark', 'LightingRateBelowTarget'],
  kpis: lightingKpisSchema,
  // Its only list (roads.nonCompliant) is bounded (at most 200): it stays in the summary.
  metricsLists: [],
  processor: () => new LightingProcessor(),
  merger: () => new LightingMerger(),
  influx: lightingPoints,
  dashboard: lightingDashboard,
  model: (node, t, ctx) => streetlightModel(node, t, ctx),
  scenarios: lightingScenarios,
  sample: (node, _ts, r) =>
    r < 0.04 ? { powerState: 'off' } : { powerState: 'on', dim: 100, powerW: node.ratedW * (r < 0.06 ? 0.5 : 0.96), voltageV: 220 },
  violate: (reading, variant) => (variant === 0 ? { ...reading, powerState: 'blinking' } : { ...reading, dim: 140 }),
};
