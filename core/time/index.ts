export * from './city-time.js';
