import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  ServerFrameSchema,
  answerSubscribe,
  caughtUpFrame,
  errorFrame,
  heartbeatFrame,
  helloFrame,
  parseErrorCode,
  pongFrame,
  writeFrame,
} from '../src/index.js';

// The one subscribe rule (the signal server's, now shared with the client's dashboard feed) and the typed frame
// writers: every frame written parses as a server frame.

const log = { epoch: 'ep', head: 50, first: 11, maxReplay: 30 };

describe('answerSubscribe', () => {
  it.each([
    ['no from_seq: live from the head', {}, { from_seq: 50, replay_count: 0, recovered: true }, 50],
    [
      'from a seq within reach',
      { from_seq: 40, epoch: 'ep' },
      { from_seq: 40, replay_count: 10, recovered: true },
      40,
    ],
    [
      'the oldest stored one can still be resumed after',
      { from_seq: 20 },
      { from_seq: 20, replay_count: 30 },
      20,
    ],
    [
      'another epoch',
      { from_seq: 40, epoch: 'other' },
      { recovered: false, reason: 'epoch_mismatch', from_seq: 40 },
      40,
    ],
    ['beyond the head', { from_seq: 51 }, { recovered: false, reason: 'future', replay_count: 0 }, 51],
    ['older than what is stored', { from_seq: 5 }, { recovered: false, reason: 'trimmed', from_seq: 5 }, 5],
    ['more than max_replay behind', { from_seq: 15 }, { recovered: false, reason: 'too_far_behind' }, 15],
  ])('%s', (_, ask, expected, from) => {
    const a = answerSubscribe(ask, log, false);
    expect(a.frame).toMatchObject({
      type: 'subscribed',
      epoch: 'ep',
      head_seq: 50,
      first_seq: 11,
      ...expected,
    });
    expect(a.from).toBe(from);
    expect(ServerFrameSchema.safeParse(a.frame).success).toBe(true);
  });

  it('from_seq 0 means everything still stored', () => {
    const a = answerSubscribe({ from_seq: 0 }, { ...log, maxReplay: 100 }, true);
    expect(a.frame).toMatchObject({ from_seq: 10, replay_count: 40, recovered: true, filtered: true });
    expect(a.from).toBe(10);
  });
});

describe('frame writers', () => {
  it('write frames the protocol parses, with codes from ErrorCode', () => {
    const frames = [
      helloFrame({
        server_id: 's',
        epoch: 'ep',
        head_seq: 3,
        heartbeat_ms: 1000,
        authenticated: true,
        limits: { max_frame_bytes: 1, frames_per_second: 1, max_replay: 1, max_backpressure_bytes: 1 },
        time: 1,
      }),
      caughtUpFrame(3),
      heartbeatFrame(3, 1),
      pongFrame('x', 1),
      pongFrame(undefined, 1),
      errorFrame(ErrorCode.rateLimited, 'slow down', 250),
      writeFrame(answerSubscribe({}, log, false).frame),
    ];
    for (const f of frames) expect(ServerFrameSchema.safeParse(JSON.parse(f)).success, f).toBe(true);
    expect(JSON.parse(errorFrame(ErrorCode.forbidden, 'no'))).toEqual({
      type: 'error',
      code: 'forbidden',
      message: 'no',
    });
    expect(parseErrorCode('not JSON')).toBe(ErrorCode.badJson);
    expect(parseErrorCode('type: invalid')).toBe(ErrorCode.badFrame);
  });
});
