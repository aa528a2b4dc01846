import type { Logger } from 'pino';
import { approvalSecret, mintApprovalToken, readApprovalToken } from '../approval-token.js';
import type { Journal } from '../journal/index.js';
import type { ApprovalActions } from './ntfy.js';
import { parseTargetUrl } from './url.js';

/**
 * Approval from a notification without an inbound port (approval.ntfy_url): the buttons of an ntfy
 * approval_requested message publish a one-time signed token (approval-token.ts) to the answer topic, and `run`
 * follows that topic's JSON stream (GET /<topic>/json, one message per line). A token is accepted once: its hash
 * and the answer commit together in the journal; a bad, replayed or expired token is ignored with a log line.
 */

export interface ApprovalTopic {
  /** For ntfy senders: the buttons of a waiting entry. */
  actions: ApprovalActions;
  stop(): void;
}

export function startApprovalTopic(o: {
  url: string;
  env: Record<string, string | undefined>;
  dataDir: string;
  journal: Journal;
  log: Logger;
  now?: () => number;
}): ApprovalTopic {
  const now = o.now ?? Date.now;
  const t = parseTargetUrl(o.url, o.env);
  if (t.service !== 'ntfy') throw new Error('approval.ntfy_url must be an ntfy:// or ntfys:// URL');
  const secret = approvalSecret(o.dataDir);
  const topicUrl = `${t.base}/${encodeURIComponent(t.topic)}`;
  const headers: Record<string, string> = {};
  if (t.auth && 'token' in t.auth) headers['Authorization'] = `Bearer ${t.auth.token}`;
  else if (t.auth)
    headers['Authorization'] = 'Basic ' + Buffer.from(`${t.auth.user}:${t.auth.password}`).toString('base64');

  const actions: ApprovalActions = (a) => {
    const row = o.journal.approvals.get(a.epoch, a.seq);
    if (!row || row.decision_id !== a.decisionId || row.state !== 'pending') return undefined;
    const button = (action: 'approve' | 'reject', label: string) => ({
      action: 'http',
      label,
      url: topicUrl,
      method: 'POST',
      ...(Object.keys(headers).length ? { headers } : {}),
      body: mintApprovalToken(secret, { ...a, action, expiresAt: row.expires_at }),
      clear: true,
    });
    return [button('approve', 'Approve'), button('reject', 'Reject')];
  };

  const accept = (token: string) => {
    const r = readApprovalToken(secret, token, now());
    if (!r.ok) return o.log.warn({ why: r.why }, 'approval token ignored');
    const { epoch, seq, decisionId, action } = r.facts;
    const row = o.journal.approvals.get(epoch, seq);
    if (!row || row.decision_id !== decisionId)
      return o.log.warn({ epoch, seq }, 'approval token ignored: no such waiting entry');
    const result = o.journal.approvals.answer(
      epoch,
      seq,
      action === 'approve' ? 'approved' : 'rejected',
      'ntfy',
      now(),
      r.hash,
    );
    o.log.info({ epoch, seq, action, result }, 'approval answered from ntfy');
  };

  // Follow the topic: from a little before the oldest answer that can still count (an answer sent while `run`
  // was down is cached by ntfy), then from the last message seen; reconnect with a capped backoff.
  const ac = new AbortController();
  let since = String(Math.floor((now() - 86_400_000) / 1000));
  let delay = 500;
  const follow = async () => {
    while (!ac.signal.aborted) {
      try {
        const res = await fetch(`${topicUrl}/json?since=${since}`, { headers, signal: ac.signal });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        delay = 500;
        let buf = '';
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += Buffer.from(chunk).toString('utf8');
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            let m: { event?: unknown; id?: unknown; message?: unknown };
            try {
              m = JSON.parse(line) as typeof m;
            } catch {
              continue;
            }
            if (m.event !== 'message') continue;
            if (typeof m.id === 'string') since = m.id;
            if (typeof m.message === 'string') accept(m.message);
          }
        }
      } catch (e) {
        if (ac.signal.aborted) return;
        o.log.warn({ err: (e as Error).message }, 'approval topic unreachable; retrying');
      }
      await new Promise((r) => setTimeout(r, delay).unref());
      delay = Math.min(delay * 2, 30_000);
    }
  };
  void follow();
  return { actions, stop: () => ac.abort() };
}
