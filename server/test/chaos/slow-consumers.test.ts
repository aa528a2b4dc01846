import { describe, it } from 'vitest';
import { runSlowConsumers } from './slow-consumers.js';

// Reduced version of resource-exhaustion.slow.test.ts (1000 clients).
describe('slow consumers, reduced', () => {
  it('50 clients that never read are closed as slow consumers; readers unaffected; RSS bounded', async () => {
    await runSlowConsumers(50, 200 * 1024 * 1024);
  });
});
