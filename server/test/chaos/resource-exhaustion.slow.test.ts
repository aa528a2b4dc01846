import { describe, it } from 'vitest';
import { runSlowConsumers } from './slow-consumers.js';

describe('resource exhaustion', () => {
  it('1000 clients that never read while signals flow: all closed, readers unaffected, server RSS < 400 MB', async () => {
    await runSlowConsumers(1000, 400 * 1024 * 1024);
  });
});
