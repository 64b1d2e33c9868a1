import { keyedList } from '../common.js';
import type { KindModule } from '../module.js';
import { parkingScenarios } from './scenarios.js';
import { parkingDashboard } from './dashboard.js';
import { parkingKpisSchema } from './kpis.js';
import { ParkingMerger } from './merge.js';
import { parkingModel, parkingNextBoundary, parkingOccupied } from './model.js';
import { PARKING_MEASUREMENTS, parkingPoints } from './points.js';
import { ParkingProcessor, type ParkingSection } from './processor.js';
import { parkingAttrs, parkingReading } from './spec.js';

/** Parking space detectors: occupancy per lot and district, sessions, turnover, dwell. */
export const parking: KindModule<
  'parking',
  'parking',
  typeof parkingReading,
  typeof parkingAttrs,
  ParkingSection,
  typeof PARKING_MEASUREMENTS
> = {
  name: 'parking',
  section: 'parking',
  reading: parkingReading,
  attrs: parkingAttrs,
  expectedIntervalS: 600,
  alerts: ['ParkingLotFull'],
  kpis: parkingKpisSchema,
  metricsLists: [keyedList('list', 'lot', 'lotId')],
  // A parking session can be corrected by a reading as late as the log still accepts.
  processor: (config) => new ParkingProcessor({ reorderWindowMs: config.ALLOWED_LATENESS_S * 1000 }),
  merger: () => new ParkingMerger(),
  influx: parkingPoints,
  dashboard: parkingDashboard,
  model: (node, t, ctx, heartbeat) => parkingModel(node, t, ctx, heartbeat),
  // A detector reports each arrival and departure at once, besides its 10-minute heartbeat.
  events: {
    state: (node, t, ctx) => (parkingOccupied(node, t, ctx) ? 1 : 0),
    nextChange: (node, t, seed) => parkingNextBoundary(node, t, seed),
  },
  scenarios: parkingScenarios,
  sample: (_node, _ts, r) => ({ status: r < 0.6 ? 'occupied' : 'free', batteryV: 3.3 }),
  violate: (reading, variant) => (variant === 0 ? { ...reading, status: 'maybe' } : { ...reading, batteryV: 9.9 }),
};
