export * from './builtin.js';
export * from './catalog.js';
export * from './profile/schema.js';
export * from './profile/load.js';
export * from './profile/derive.js';
export * from './profile/kpis.js';
export type * from './module.js';
