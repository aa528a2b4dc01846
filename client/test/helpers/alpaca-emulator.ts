/**
 * Alpaca (US equities) emulator for the REAL ccxt.alpaca class: see alpaca/server.ts for the routes and the test
 * controls, alpaca/book.ts for how orders, positions and buying power move, alpaca/clock.ts for sessions.
 */
export {
  DEFAULT_ASSETS,
  startAlpacaEmulator,
  type AlpacaEmulator,
  type AlpacaEmulatorOptions,
  type Fault,
  type SeenRequest,
} from './alpaca/server.js';
export { HOLIDAYS_2026, EARLY_CLOSES_2026, nyToMs } from './alpaca/clock.js';
export type { EmuAsset, EmuOrder } from './alpaca/types.js';
