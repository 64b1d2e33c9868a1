export * from './alerts.js';
export * from './errors.js';
export * from './kpis.js';
export * from './nodes.js';
export * from '../../core/kinds/profile/kpis-schema.js';
