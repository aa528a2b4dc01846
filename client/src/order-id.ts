import { createHash } from 'node:crypto';

/**
 * Deterministic clientOrderId from (installation salt, epoch, seq, leg): the same signal leg always maps to
 * the same id, so the exchange and the journal can both recognise a retry. Only [A-Za-z0-9-] are used, which
 * every exchange we know accepts (Binance: ^[\.A-Z\:/a-z0-9_-]{1,36}$).
 */
const LEG_CODES: Record<string, string> = { entry: 'e', exit: 'x', sl: 's', tp: 't' };

export function clientOrderId(salt: string, epoch: string, seq: number, leg: string, maxLen = 36): string {
  // The epoch matters because seq restarts at 1 in a new store; 6 hash chars keep it short.
  const ep = createHash('sha256').update(epoch).digest('hex').slice(0, 6);
  const legCode = LEG_CODES[leg] ?? leg.replace(/[^A-Za-z0-9]/g, '').slice(0, 4);
  const id = `cs${salt}${ep}-${seq.toString(36)}-${legCode}`;
  if (id.length > maxLen) {
    // Still deterministic: hash the whole tuple down to the limit.
    const h = createHash('sha256').update(id).digest('hex');
    return ('cs' + h).slice(0, maxLen);
  }
  return id;
}

export const CLIENT_ORDER_ID_RE = /^[.A-Z:/a-z0-9_-]{1,36}$/;
