import { afterAll, describe, expect, it } from 'vitest';
import type { FaultMode } from '../../../server/test/helpers/fault-proxy.js';
import { pollUntil } from '../helpers/chaos.js';
import { serverBuilt } from '../helpers/real-server.js';
import { HB, SLACK, assertExactlyOnce, eventAfter, settle, steady, world } from './net-world.js';

// Issue 7, client side: network faults between the REAL client engine and the REAL server (child process),
// injected by the TCP fault proxy. The client must notice a dead path within two heartbeat intervals,
// reconnect, resume from its cursor, and end with every seq decided exactly once and no order doubled.

const detections: string[] = [];
afterAll(() => {
  if (detections.length)
    console.log(`network faults (heartbeat ${HB} ms, bound ${2 * HB} ms): ${detections.join('; ')}`);
});

describe.skipIf(!serverBuilt())('network faults between the client and the real server', () => {
  it.each<[string, FaultMode | 'cut']>([
    ['close after N bytes (FIN mid-frame, repeatedly)', { kind: 'close-after-bytes', bytes: 2500 }],
    ['cut without a close frame (RST)', 'cut'],
    ['stall in both directions (half-open path)', { kind: 'stall' }],
    ['delay spike above two heartbeats (450 ms)', { kind: 'delay', ms: 450 }],
  ])('%s: detected within two heartbeats, reconnects, resumes, every seq once', async (name, fault) => {
    const w = await world();
    await steady(w);
    const reconnectsBefore = w.client.events.filter((e) => e.type === 'reconnecting').length;
    const t0 = Date.now();
    // The path heals the moment the client gives up on it, so the reconnect measures the client, not the black
    // hole (a handshake into a still-dead path is network-faults.slow.test.ts).
    if (fault !== 'cut' && fault.kind === 'stall')
      w.client.engine.connection.once('silence', () => w.proxy.setMode({ kind: 'pass' }));
    if (fault === 'cut') expect(w.proxy.cut()).toBeGreaterThanOrEqual(1);
    else w.proxy.setMode(fault);
    // Signals keep coming while the path is broken.
    const during = w.publish(6);
    // A FIN or RST is seen at once ('reconnecting'); a silent path only by the heartbeat watchdog ('silence').
    const silent = fault !== 'cut' && (fault.kind === 'stall' || fault.kind === 'delay');
    const detected = await eventAfter(w, silent ? 'silence' : 'reconnecting', t0);
    const dt = detected.at - t0;
    detections.push(`${name}: ${dt} ms via ${detected.type}`);
    expect(dt, `${name} detected after ${dt} ms`).toBeLessThanOrEqual(2 * HB + SLACK);
    await eventAfter(w, 'reconnecting', t0);
    await during;
    if (fault !== 'cut' && fault.kind === 'close-after-bytes') {
      // Every new connection is cut after 2500 bytes, often mid-frame: it must still make progress.
      await pollUntil('progress while every connection is cut short', () => w.client.applied.at(-1)! >= 7, {
        timeoutMs: 15_000,
      });
      expect(w.proxy.stats.closedAfterBytes).toBeGreaterThan(1);
    }
    if (fault !== 'cut' && fault.kind === 'delay') {
      // Still slow: the new connection over the slow path must carry the stream (no reconnect loop).
      await pollUntil('progress over the slow path', () => w.client.applied.at(-1)! >= 9, {
        timeoutMs: 15_000,
      });
    }
    w.proxy.setMode({ kind: 'pass' });
    await w.publish(3);
    const head = await settle(w);
    expect(w.client.events.filter((e) => e.type === 'reconnecting').length).toBeGreaterThan(reconnectsBefore);
    assertExactlyOnce(w, head);
  });

  it.each<[string, FaultMode]>([
    ['frames split into 1..3 byte pieces', { kind: 'chunk', maxBytes: 3 }],
    ['a steady delay below the heartbeat (120 ms)', { kind: 'delay', ms: 120 }],
  ])('%s: not a dead path - no reconnect, every seq once', async (name, mode) => {
    const w = await world();
    await steady(w);
    w.proxy.setMode(mode);
    await w.publish(8);
    const head = await settle(w);
    // Several heartbeats under the condition, to give a false "silence" the chance to show.
    const t = Date.now();
    await pollUntil(
      '3 heartbeats under the condition',
      () => w.client.events.filter((e) => e.type === 'heartbeat' && e.at >= t).length >= 3,
    );
    expect(
      w.client.events.filter((e) => e.type === 'reconnecting' || e.type === 'silence'),
      `${name}: no reconnect`,
    ).toEqual([]);
    assertExactlyOnce(w, head);
  });
});
