import { keyedList } from '../common.js';
import type { KindModule } from '../module.js';
import { groundwaterScenarios } from './scenarios.js';
import { groundwaterDashboard } from './dashboard.js';
import { groundwaterKpisSchema } from './kpis.js';
import { GroundwaterMerger } from './merge.js';
import { groundwaterModel } from './model.js';
import { GROUNDWATER_MEASUREMENTS, groundwaterPoints } from './points.js';
import { GroundwaterProcessor, type GroundwaterSection } from './processor.js';
import { groundwaterAttrs, groundwaterReading } from './spec.js';

/** Spring and groundwater wells: level against the warning lines, trends, time to the next line. */
export const groundwater: KindModule<
  'groundwater',
  'groundwater',
  typeof groundwaterReading,
  typeof groundwaterAttrs,
  GroundwaterSection,
  typeof GROUNDWATER_MEASUREMENTS
> = {
  name: 'groundwater',
  section: 'groundwater',
  reading: groundwaterReading,
  attrs: groundwaterAttrs,
  expectedIntervalS: 60,
  alerts: ['GroundwaterBelowLine', 'GroundwaterFallingFast'],
  kpis: groundwaterKpisSchema,
  metricsLists: [keyedList('list', 'well', 'nodeId')],
  processor: (config) => new GroundwaterProcessor(config.GROUNDWATER_HYSTERESIS_M),
  merger: () => new GroundwaterMerger(),
  influx: groundwaterPoints,
  dashboard: groundwaterDashboard,
  model: (node, t, ctx) => groundwaterModel(node, t, ctx),
  scenarios: groundwaterScenarios,
  sample: (node, _ts, r) => ({ waterTableM: Math.round((node.lines.yellow - 0.3 + r * 0.8) * 1000) / 1000 }),
  violate: (reading, variant) => (variant === 0 ? { ...reading, waterTableM: 'high' } : { ...reading, waterTableM: -3.2 }),
};
