import { useState } from 'preact/hooks';
import type { PendingApproval } from '../../src/dashboard/api.js';
import { time } from './format.js';

/**
 * Approval mode: each entry waiting for the friend, as a card with Approve / Reject. An answer is journaled by
 * the dashboard; `run` then checks every filter and limit again before it places anything (docs/client.md,
 * "Approval"), so a late or stale approval can still end as a skip.
 */
export function PendingApprovals({
  rows,
  onAnswer,
}: {
  rows: PendingApproval[];
  onAnswer: (row: PendingApproval, action: 'approve' | 'reject') => Promise<string>;
}) {
  const [busy, setBusy] = useState<string>();
  const [said, setSaid] = useState<Record<string, string>>({});
  if (!rows.length) return null;
  const answer = async (row: PendingApproval, action: 'approve' | 'reject') => {
    const key = `${row.epoch}:${row.seq}`;
    setBusy(key);
    try {
      const result = await onAnswer(row, action);
      setSaid((s) => ({ ...s, [key]: result === 'done' ? `${action}d` : 'too late' }));
    } catch (e) {
      setSaid((s) => ({ ...s, [key]: (e as Error).message }));
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <section id="approvals" class="approvals">
      <h2>Waiting for your approval</h2>
      <div class="cardlist">
        {rows.map((r) => {
          const key = `${r.epoch}:${r.seq}`;
          return (
            <article key={key} class="approval" data-seq={r.seq}>
              <div>
                <strong>{r.symbol}</strong> #{r.seq} <span class="muted">until {time(r.expires_at)}</span>
              </div>
              <div>{r.detail}</div>
              {said[key] ? (
                <div class="muted approval-said">{said[key]}</div>
              ) : (
                <div class="actions">
                  <button
                    type="button"
                    class="primary approve"
                    disabled={busy === key}
                    onClick={() => void answer(r, 'approve')}
                  >
                    Approve
                  </button>
                  <button
                    type="button"
                    class="reject"
                    disabled={busy === key}
                    onClick={() => void answer(r, 'reject')}
                  >
                    Reject
                  </button>
                </div>
              )}
            </article>
          );
        })}
      </div>
    </section>
  );
}
