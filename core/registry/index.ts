export * from './node.js';
export * from './roads.js';
export * from './registry.js';
export * from './load.js';
export * from './generate.js';
export * from './districts.js';
export * from './places.js';
