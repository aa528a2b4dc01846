import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DashboardFeed } from '../src/dashboard/feed.js';
import { presenceView, readPresence, type PresenceInputs } from '../src/dashboard/presence.js';
import { Journal } from '../src/journal/index.js';
import { PRESENCE_KEYS, RUN_STALE_MS, linkState } from '../src/presence.js';

// The header's truth: `run`'s heartbeat and connection states from the journal, judged by the dashboard.

const NOW = 1_800_000_000_000;
const beat = (over: object = {}) =>
  JSON.stringify({
    state: 'running',
    at: NOW - 1000,
    pid: 4242,
    started_at: NOW - 60_000,
    mode: 'paper',
    ...over,
  });
const link = (state: string, detail?: string) => JSON.stringify({ state, since: NOW - 5000, detail });
const base: PresenceInputs = {
  run: beat(),
  server: link('connected'),
  broker: undefined,
  lastSignalAt: NOW - 12_000,
  halted: null,
  killSwitch: false,
};
const alive = () => true;

describe('presence', () => {
  it('green only with a fresh heartbeat from a live pid and a connected server; broker unknown when unwritten', () => {
    const p = presenceView(base, NOW, alive);
    expect(p).toMatchObject({
      level: 'ok',
      run: { state: 'alive', mode: 'paper' },
      server: { state: 'connected', since: NOW - 5000 },
      broker: { state: 'unknown' },
      last_signal_at: NOW - 12_000,
    });
  });

  it('red when the heartbeat is stale, when its pid is gone, and says nothing of the server then', () => {
    const stale = presenceView({ ...base, run: beat({ at: NOW - RUN_STALE_MS - 1 }) }, NOW, alive);
    expect(stale).toMatchObject({ level: 'bad', run: { state: 'stale' }, server: { state: 'unknown' } });
    const gone = presenceView(base, NOW, (pid) => pid !== 4242);
    expect(gone).toMatchObject({ level: 'bad', run: { state: 'stale' } });
    expect(presenceView({ ...base, run: beat({ state: 'stopped' }) }, NOW, alive).run.state).toBe('stopped');
    expect(presenceView({ ...base, run: undefined }, NOW, alive)).toMatchObject({
      level: 'bad',
      run: { state: 'never' },
    });
    expect(presenceView({ ...base, run: '{not json' }, NOW, alive).run.state).toBe('never');
  });

  it('red when the server is lost or trading halted; amber when behind, paused or the broker reconnects', () => {
    expect(presenceView({ ...base, server: link('lost', 'ECONNREFUSED') }, NOW, alive)).toMatchObject({
      level: 'bad',
      server: { state: 'lost', detail: 'ECONNREFUSED' },
    });
    expect(presenceView({ ...base, halted: 'epoch changed' }, NOW, alive).level).toBe('bad');
    expect(presenceView({ ...base, server: link('behind') }, NOW, alive).level).toBe('warn');
    expect(presenceView({ ...base, killSwitch: true }, NOW, alive).level).toBe('warn');
    expect(presenceView({ ...base, broker: link('reconnecting') }, NOW, alive).level).toBe('warn');
    expect(presenceView({ ...base, broker: link('connected') }, NOW, alive).level).toBe('ok');
  });

  it('the feed tells the page when presence changes with time alone (a heartbeat going stale)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-presence-'));
    const j = Journal.open(join(dir, 'journal.sqlite'));
    try {
      let now = NOW;
      j.setMeta(PRESENCE_KEYS.run, beat({ pid: process.pid, at: NOW }));
      j.setMeta(PRESENCE_KEYS.server, link('connected'));
      const feed = new DashboardFeed(j, () => now);
      expect(feed.poll()).toEqual([]); // the first look is the snapshot's
      expect(feed.presence().run.state).toBe('alive');
      // The broker follower's one-line report, as the header reads it.
      linkState(j, PRESENCE_KEYS.broker, 'lost', 'socket closed', now - 10);
      expect(feed.presence()).toMatchObject({ broker: { state: 'unknown' } }); // not looked at again yet
      expect(readPresence(j, now).broker).toEqual({
        state: 'lost',
        since: now - 10,
        detail: 'socket closed',
      });
      now += RUN_STALE_MS + 1000; // nothing written: run stopped beating
      const [e] = feed.poll();
      expect(e).toMatchObject({ kind: 'presence', presence: { level: 'bad', run: { state: 'stale' } } });
      expect(feed.poll()).toEqual([]);
    } finally {
      j.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
