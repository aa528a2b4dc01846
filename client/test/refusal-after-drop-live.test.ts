import { describe, expect, it } from 'vitest';
import { processSignal } from '../src/pipeline.js';
import { useEquityLive } from './helpers/equity-live.js';

// The Alpaca chaos once reported "refused but posted 2x, 0 broker orders". This is that sequence, alone: the first
// order request is dropped before it takes effect (the client cannot know), the client asks the broker by its id
// (not found) and posts again, and that one is refused (403). Two POSTs, one refusal, and the refusal is final:
// nothing posts that id again, not the retry loop, not the reconcile timer.

const ctx = useEquityLive();

describe('a refusal after a dropped request', () => {
  it('posts twice (dropped, then refused), asks by id in between, and never resends the refusal', async () => {
    const { emu, journal } = ctx;
    const d = await ctx.deps();
    emu.fault({ match: 'POST /v2/orders', kind: 'drop', when: 'before' });
    emu.fault({ match: 'POST /v2/orders', kind: 'status', status: 403, when: 'before' });
    const out = await processSignal(d, ctx.sig(), { ok: true }, emu.now());
    const id = out.intents[0]!.client_order_id;
    expect(journal.intent(id)).toMatchObject({ status: 'rejected', attempts: 2 });
    expect(emu.posted(id).map((r) => r.status)).toEqual([-1, 403]);
    const asked = emu.requests.filter((r) => r.method === 'GET' && r.query['client_order_id'] === id);
    expect(asked.length).toBeGreaterThanOrEqual(1);
    expect(asked[0]!.at).toBeGreaterThan(emu.posted(id)[0]!.at);
    expect(asked[0]!.at).toBeLessThan(emu.posted(id)[1]!.at);
    await d.executor.reconcileAll();
    expect(emu.posted(id)).toHaveLength(2);
    expect(emu.ledger()).toEqual([]);
  });
});
