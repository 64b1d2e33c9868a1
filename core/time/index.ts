export * from './city-time.js';
export * from './lighting-schedule.js';
