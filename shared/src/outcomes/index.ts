export * from './trading-time.js';
export * from './outcome.js';
