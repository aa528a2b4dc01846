import { randomUUID } from 'node:crypto';
import { isOpen, type Book } from './book.js';
import { notFound, unprocessable, type EmuOrder } from './types.js';

/**
 * PATCH /v2/orders/{order_id}: Alpaca's replace. The replacement is a NEW order (new id, the client_order_id
 * given or a fresh one) with the changed fields; the old one ends `replaced` with `replaced_by` set, and the new
 * one says what it `replaces`. Refused (422) when the order is not open, still `accepted` (not yet live), a
 * bracket leg or notional, or the client_order_id was used before.
 */
export function replaceOrder(book: Book, id: string, body: Record<string, unknown>): EmuOrder {
  const o = book.byId.get(id);
  if (!o) throw notFound('order not found');
  if (!isOpen(o) || o.status === 'accepted')
    throw unprocessable(`order is not replaceable in "${o.status}" state`, 42210000);
  if (o.parent || o.notional !== undefined) throw unprocessable('order is not replaceable', 42210000);
  const cid = typeof body['client_order_id'] === 'string' ? body['client_order_id'] : randomUUID();
  if (book.usedClientIds.has(cid)) throw unprocessable('client_order_id must be unique', 40010001);
  const num = (k: string) => (body[k] === undefined ? undefined : Number(body[k]));
  const next: EmuOrder = {
    ...o,
    id: randomUUID(),
    client_order_id: cid,
    qty: num('qty') ?? o.qty,
    limit_price: num('limit_price') ?? o.limit_price,
    stop_price: num('stop_price') ?? o.stop_price,
    time_in_force: (body['time_in_force'] as EmuOrder['time_in_force'] | undefined) ?? o.time_in_force,
    created_at: book.now(),
    legs: [],
    replaces: o.id,
    body,
  };
  o.status = 'replaced';
  o.replaced_by = next.id;
  o.replaced_at = book.now();
  book.byId.set(next.id, next);
  book.usedClientIds.add(cid);
  book.orders.push(next);
  return next;
}
