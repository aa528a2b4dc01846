export * from './backoff.js';
export * from './codec.js';
export * from './core.js';
export * from './emitter.js';
export * from './socket.js';
export * from './rule.js';
export * from './writers.js';
