export * from './protocol.js';
export * from './close-codes.js';
export * from './canonical.js';
export * from './signal.js';
export * from './frames.js';
export * from './rest.js';
export * from './status.js';
export * from './stream/index.js';
