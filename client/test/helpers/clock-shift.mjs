// Preloaded (`node --import`) into a client child process by the Alpaca chaos scenario: Date.now runs
// TEST_CLOCK_OFFSET_MS ahead (or behind) so the process lives on the emulator's trading day, pre-market or
// regular session, whatever the real date is. Only the clock moves; every other part is real.
const offset = Number(process.env.TEST_CLOCK_OFFSET_MS ?? 0);
if (offset) {
  const real = Date.now;
  Date.now = () => real() + offset;
}
