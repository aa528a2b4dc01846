import { describe, expect, it } from 'vitest';
import { clientAddress, LoginLimiter } from '../src/dashboard/security.js';

describe('dashboard LoginLimiter', () => {
  it('blocks only the failing address, for blockMs', () => {
    const l = new LoginLimiter({ blockMs: 1000, maxAddresses: 8 });
    l.failed('10.0.0.1', 0);
    expect(l.waitMs('10.0.0.1', 10)).toBe(990);
    expect(l.waitMs('10.0.0.2', 10)).toBe(0);
    expect(l.waitMs('10.0.0.1', 1000)).toBe(0);
  });

  it('tracks at most maxAddresses however many addresses fail, dropping expired ones first', () => {
    const l = new LoginLimiter({ blockMs: 1000, maxAddresses: 100 });
    for (let i = 0; i < 10_000; i++) l.failed(`2001:db8::${i.toString(16)}`, i);
    expect(l.tracked).toBeLessThanOrEqual(100);
    // The newest addresses are still blocked.
    expect(l.waitMs('2001:db8::270f', 9_999)).toBe(1000);
  });

  it('an IPv4-mapped IPv6 address is the IPv4 address', () => {
    expect(clientAddress('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(clientAddress('::1')).toBe('::1');
  });
});
