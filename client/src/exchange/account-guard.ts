import type { EquityAccount, EquityVenue } from './equity-types.js';

/**
 * A broker account that cannot trade refuses every order; starting live on it would only journal rejections.
 * Pure checks of the account standing (Alpaca GET /v2/account), shared by `check` and `run --live`.
 */

/** Why this account cannot trade, one phrase per flag; empty when it can. */
export function accountBlockers(a: EquityAccount): string[] {
  const out: string[] = [];
  if (a.status !== 'ACTIVE') out.push(`status ${a.status} (not ACTIVE)`);
  if (a.accountBlocked) out.push('account_blocked');
  if (a.tradingBlocked) out.push('trading_blocked');
  if (a.tradeSuspendedByUser) out.push('trade_suspended_by_user (trading paused in the Alpaca dashboard)');
  return out;
}

export class AccountNotTradable extends Error {
  override name = 'AccountNotTradable';
}

/** Throws AccountNotTradable naming every blocking flag. */
export function assertAccountTradable(a: EquityAccount): void {
  const why = accountBlockers(a);
  if (why.length)
    throw new AccountNotTradable(
      `broker account cannot trade: ${why.join(', ')}; refuse to start live on a blocked account`,
    );
}

/** Read a broker account (Alpaca) and assert it can trade. */
export async function assertVenueTradable(ex: Pick<EquityVenue, 'account'>): Promise<void> {
  assertAccountTradable(await ex.account());
}
