export * from './alerts.js';
export * from './errors.js';
export * from './kpis.js';
export * from './nodes.js';
export * from './profile-kpis.js';
