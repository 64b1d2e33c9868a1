export * from './transport.js';
export type { PartitionDamage } from './partition.js';
export type { SegmentIo } from './segment.js';
