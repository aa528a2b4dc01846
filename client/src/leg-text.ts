/**
 * A trade's protective legs in words, shared by `run` / `history` / `export` (report.ts) and the dashboard page
 * (no Node, no imports: the page bundles it). A bracket's stop and target, an OCO placed at the open or after a
 * fill, a lone stop or target: each is read as what it is ("bracket stop 3.01 / target 3.61 (resting)"), never
 * as a plain sell at the entry's price, with its state: resting, filled, cancelled.
 */

export interface LegLike {
  leg: string;
  status: string;
  amount: number;
  filled: number;
  price: number | null;
  stop_loss: number | null;
  take_profit: number | null;
  error?: string | null;
}

const PROTECTIVE = new Set(['bracket_sl', 'bracket_tp', 'protect', 'sl', 'tp']);

export const isProtectiveLeg = (leg: string): boolean => PROTECTIVE.has(leg);

const num = (n: number | null): string => (n === null ? '?' : String(Number(n.toPrecision(6))));

/** pending / open: resting (with how much is filled when partly); canceled: cancelled; the rest as they are. */
export function legState(l: LegLike): string {
  if (l.status === 'pending' || l.status === 'open')
    return l.filled > 0 ? `resting, ${num(l.filled)} of ${num(l.amount)} filled` : 'resting';
  if (l.status === 'canceled') return 'cancelled';
  return l.error && l.status !== 'filled' ? `${l.status} (${l.error})` : l.status;
}

const stopOf = (l: LegLike) => l.stop_loss ?? l.price;
const targetOf = (l: LegLike) => l.take_profit ?? l.price;

/** One phrase per protection (a bracket's two legs are one), in the legs' order. */
export function protectionText(legs: readonly LegLike[], withState = true): string[] {
  const out: string[] = [];
  const st = (l: LegLike) => (withState ? ` (${legState(l)})` : '');
  const sl = legs.find((l) => l.leg === 'bracket_sl');
  const tp = legs.find((l) => l.leg === 'bracket_tp');
  let bracketDone = false;
  for (const l of legs) {
    if (l.leg === 'bracket_sl' || l.leg === 'bracket_tp') {
      if (bracketDone) continue;
      bracketDone = true;
      const parts: string[] = [];
      const same = withState && sl && tp && legState(sl) === legState(tp);
      if (sl) parts.push(`stop ${num(stopOf(sl))}${same ? '' : st(sl)}`);
      if (tp) parts.push(`target ${num(targetOf(tp))}${same ? '' : st(tp)}`);
      out.push(`bracket ${parts.join(' / ')}${same ? st(sl) : ''}`);
    } else if (l.leg === 'protect' && l.stop_loss !== null && l.take_profit !== null)
      out.push(`OCO stop ${num(l.stop_loss)} / target ${num(l.take_profit)}${st(l)}`);
    else if (l.leg === 'sl' || (l.leg === 'protect' && l.stop_loss !== null))
      out.push(`stop ${num(stopOf(l))}${st(l)}`);
    else if (l.leg === 'tp' || l.leg === 'protect') out.push(`target ${num(targetOf(l))}${st(l)}`);
  }
  return out;
}
