import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ClientFrame,
  cosign,
  cosignatureVerifier,
  cosignerVerifierKey,
  ed25519Cosigner,
  parseNote,
  parseTlogProof,
  verifiedCosignatures,
  type Cosigner,
} from '@catalyst-signal/shared';
import { ed25519Verify, sha256 } from '../src/log/tlog-crypto.js';
import { openDb } from '../src/store/db.js';
import { classification, startTestServer, type TestServer } from './helpers/server.js';
import { connect, type Frame, type TestWs } from './helpers/ws-client.js';

/**
 * Issue 24, witnesses on the server: a `cosign` frame is kept only when a configured witness validly cosigned
 * a checkpoint this log signed (unknown key, bad signature, unsigned size, a repeat: counted and dropped, never
 * stored), and kept cosignatures are served on the checkpoint (GET /v1/log/checkpoint and the checkpoint frame).
 */

const ORIGIN = 'catalyst.test/witnessed';

function witness(name: string): { cosigner: Cosigner; vkey: string; key: KeyObject } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pub = new Uint8Array(
    Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url'),
  );
  return {
    key: privateKey,
    vkey: cosignerVerifierKey(sha256, name, pub),
    cosigner: ed25519Cosigner(sha256, name, pub, (m) => new Uint8Array(sign(null, m, privateKey))),
  };
}

async function checkpointNote(s: TestServer): Promise<string> {
  const r = await fetch(`${s.url}/v1/log/checkpoint`, { headers: { authorization: `Bearer ${s.readKey}` } });
  expect(r.status).toBe(200);
  return r.text();
}

/** A subscribed socket that asked for checkpoint frames, once its first one arrived. */
async function checkpointSocket(s: TestServer): Promise<{ ws: TestWs; first: Frame }> {
  const ws = connect(s.wsUrl, s.readKey);
  await ws.frame('hello');
  ws.send({ type: ClientFrame.subscribe, checkpoints: {} });
  return { ws, first: await ws.frame('checkpoint') };
}

/** Frames on one socket are handled in order: a pong after the cosign means the cosign was handled. */
async function handled(ws: TestWs, id: string): Promise<void> {
  ws.send({ type: ClientFrame.ping, id });
  await ws.until(() => ws.frames.find((f) => f.type === 'pong' && f.id === id));
}

async function counts(s: TestServer): Promise<Record<string, number>> {
  const m = await s.server.metrics.cosignatures.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels.result), v.value]));
}

describe('witness cosignatures on the server', () => {
  it('keeps a configured witness cosignature, serves it on the checkpoint and re-sends the frame; drops the rest', async () => {
    const a = witness('w.test/a');
    const b = witness('w.test/b');
    const stranger = witness('w.test/stranger');
    const s = await startTestServer({
      log: {
        origin: ORIGIN,
        checkpoint_interval_ms: 20,
        witnesses: [
          { name: 'alice', vkey: a.vkey },
          { name: 'bob', vkey: b.vkey },
        ],
      },
    });
    for (let i = 0; i < 3; i++) expect((await s.post(classification())).status).toBe(201);
    const cps = s.server.driver.transparency!;
    if ((cps.latestSigned()?.size ?? 0) < 3)
      await new Promise<void>((r) => cps.onSigned((c) => c.size >= 3 && r()));
    const { ws, first } = await checkpointSocket(s);
    const note = first.checkpoint as string;
    const { text } = parseNote(note);
    const size = Number(text.split('\n')[1]);
    expect(size).toBe(3);
    const now = Math.floor(Date.now() / 1000);

    // Unknown witness: dropped. (Each socket is one witness: it cosigns a size once.)
    const strangerWs = connect(s.wsUrl, s.readKey);
    await strangerWs.frame('hello');
    strangerWs.send({ type: ClientFrame.cosign, size, cosignature: cosign(stranger.cosigner, text, now) });
    await handled(strangerWs, 'stranger');
    // A configured witness's line over another text (a forged or mistaken cosignature): dropped.
    const bob2 = connect(s.wsUrl, s.readKey);
    await bob2.frame('hello');
    const wrongText = text.replace(`\n${size}\n`, `\n${size + 1}\n`);
    bob2.send({ type: ClientFrame.cosign, size, cosignature: cosign(b.cosigner, wrongText, now) });
    await handled(bob2, 'bad');
    // A size this log never signed.
    const bob3 = connect(s.wsUrl, s.readKey);
    await bob3.frame('hello');
    bob3.send({ type: ClientFrame.cosign, size: 999, cosignature: cosign(b.cosigner, text, now) });
    await handled(bob3, 'unsigned');
    expect(await checkpointNote(s)).toBe(note);

    // Alice: kept, served, and re-sent to the subscribed socket on the same size.
    const aliceLine = cosign(a.cosigner, text, now);
    ws.send({ type: ClientFrame.cosign, size, cosignature: aliceLine });
    const again = await ws.until(() =>
      ws.frames.find((f) => f.type === 'checkpoint' && (f.checkpoint as string) !== note),
    );
    expect(again.checkpoint).toBe(note + aliceLine);
    expect(again.proofs).toEqual([]);
    expect(await checkpointNote(s)).toBe(note + aliceLine);
    // A signal's tlog-proof file carries the checkpoint as served, cosignatures included.
    const proof = await fetch(`${s.url}/v1/log/proof/2`, {
      headers: { authorization: `Bearer ${s.readKey}` },
    });
    expect(proof.status).toBe(200);
    const parsed = parseTlogProof(await proof.text());
    expect(parsed.index).toBe(1);
    expect(parsed.checkpoint).toBe(note + aliceLine);
    // The same socket again for the same size: a repeat, not even checked.
    ws.send({ type: ClientFrame.cosign, size, cosignature: aliceLine });
    await handled(ws, 'repeat');

    const vs = [a, b].map((w) => cosignatureVerifier(sha256, w.vkey, ed25519Verify));
    expect(verifiedCosignatures(await checkpointNote(s), vs).map((c) => c.name)).toEqual(['w.test/a']);
    expect(await counts(s)).toEqual({
      unknown_key: 1,
      bad_signature: 1,
      unknown_size: 1,
      stored: 1,
      repeated: 1,
    });
    const dir = s.dataDir;
    await s.server.close();
    const db = openDb(dir);
    const rows = db.prepare('SELECT witness, size FROM tlog_cosignatures').all();
    db.close();
    expect(rows).toEqual([{ witness: a.vkey, size }]);
  });

  it('a cosign frame to a server without witnesses is dropped; a malformed one is refused by the schema', async () => {
    const s = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } });
    const w = witness('w.test/a');
    const { ws, first } = await checkpointSocket(s);
    const { text } = parseNote(first.checkpoint as string);
    ws.send({ type: ClientFrame.cosign, size: 0, cosignature: cosign(w.cosigner, text, 1) });
    await handled(ws, 'x');
    expect(await counts(s)).toEqual({ no_witnesses: 1 });
    ws.send({ type: ClientFrame.cosign, size: 1, cosignature: 'x'.repeat(600) });
    const err = await ws.frame('error');
    expect(err.code).toBe('bad_frame');
  });
});
