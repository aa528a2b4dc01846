export * from './types.js';
export { PaperAdapter } from './paper.js';
export { defaultMarket } from './markets.js';
