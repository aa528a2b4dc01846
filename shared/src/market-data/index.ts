export * from './bars.js';
export * from './ranges.js';
export * from './rate-gate.js';
export * from './alpaca-data.js';
export * from './cached.js';
