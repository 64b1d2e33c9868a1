export * from './types.js';
export * from './topics.js';
export * from './partitioner.js';
export * from './memory.js';
