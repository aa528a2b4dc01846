import type { SubscribedFrame } from '../frames.js';
import { ServerFrame, UnrecoverableReason } from '../protocol.js';

/**
 * THE subscribe rule, for every stream that speaks this protocol (the signal server's WebSocket edge and the
 * client's local dashboard feed): where a `subscribe {from_seq, epoch}` starts, or why it cannot start without
 * a gap. Pure: the caller passes what its log holds and sends the frame.
 *
 * - another epoch than the log's -> epoch_mismatch (the log was replaced: the seq means nothing here);
 * - from_seq beyond the head -> future (the subscriber knows of items this log never had);
 * - from_seq 0 -> everything still stored (first_seq - 1);
 * - from_seq older than what is stored -> trimmed;
 * - more to replay than the log replays over a socket -> too_far_behind (page through REST or reload).
 * No from_seq: from the head (live only).
 */

export interface StreamLogView {
  epoch: string;
  /** Newest seq (0 when empty). */
  head: number;
  /** Oldest seq still stored (head + 1 when nothing is retained). */
  first: number;
  /** Most items one subscribe replays. */
  maxReplay: number;
}

export interface SubscribeAsk {
  from_seq?: number | undefined;
  epoch?: string | undefined;
}

export interface SubscribeAnswer {
  /** The `subscribed` frame to send. */
  frame: SubscribedFrame;
  /** Replay items after this seq, then go live (only when `frame.recovered`). */
  from: number;
}

export function answerSubscribe(ask: SubscribeAsk, log: StreamLogView, filtered: boolean): SubscribeAnswer {
  const { head, first } = log;
  let from = ask.from_seq ?? head;
  let reason: UnrecoverableReason | undefined;
  if (ask.epoch !== undefined && ask.epoch !== log.epoch) reason = UnrecoverableReason.epochMismatch;
  else if (from > head) reason = UnrecoverableReason.future;
  else if (from === 0) from = first - 1;
  else if (from < first - 1) reason = UnrecoverableReason.trimmed;
  if (!reason && head - from > log.maxReplay) reason = UnrecoverableReason.tooFarBehind;
  return {
    from,
    frame: {
      type: ServerFrame.subscribed,
      epoch: log.epoch,
      from_seq: reason ? (ask.from_seq ?? head) : from,
      head_seq: head,
      first_seq: first,
      replay_count: reason ? 0 : head - from,
      recovered: !reason,
      ...(reason ? { reason } : {}),
      filtered,
    },
  };
}
