import { keyedList } from '../common.js';
import type { KindModule } from '../module.js';
import { noiseScenarios } from './scenarios.js';
import { noiseDashboard } from './dashboard.js';
import { noiseKpisSchema } from './kpis.js';
import { NoiseMerger } from './merge.js';
import { noiseModel } from './model.js';
import { NOISE_MEASUREMENTS, noisePoints } from './points.js';
import { NoiseProcessor, type NoiseSection } from './processor.js';
import { noiseAttrs, noiseReading } from './spec.js';

/** Noise monitoring stations: hourly Leq, Ld and Ln against the GB 3096 zone limits, night peaks. */
export const noise: KindModule<'noise', 'noise', typeof noiseReading, typeof noiseAttrs, NoiseSection, typeof NOISE_MEASUREMENTS> = {
  name: 'noise',
  section: 'noise',
  reading: noiseReading,
  attrs: noiseAttrs,
  expectedIntervalS: 60,
  alerts: ['NoiseOverLimit', 'NoiseNightPeak'],
  kpis: noiseKpisSchema,
  metricsLists: [keyedList('list', 'station', 'nodeId')],
  processor: () => new NoiseProcessor(),
  merger: () => new NoiseMerger(),
  influx: noisePoints,
  dashboard: noiseDashboard,
  model: (node, t, ctx) => noiseModel(node, t, ctx),
  scenarios: noiseScenarios,
  sample: (_node, _ts, r) => ({ laeq: Math.round((42 + r * 30) * 10) / 10, lamax: Math.round((55 + r * 30) * 10) / 10, periodS: 60 }),
  violate: (reading, variant) => (variant === 0 ? { ...reading, lamax: Number(reading.laeq) - 5 } : { ...reading, laeq: 250 }),
};
