export * from './new-york.js';
export * from './us-calendar.js';
