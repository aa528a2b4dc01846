import { describe, expect, it } from 'vitest';
import { parseClientFrame, parseServerFrame } from '../src/index.js';

const h = 'q0q9cH1b3n5T2tQ5Qx0J1uJXz8oQpJ7s6hZr2o0bP5M=';

describe('checkpoint frame (wire contract)', () => {
  it('parses a checkpoint frame with a consistency proof and inclusion proofs', () => {
    const f = parseServerFrame(
      JSON.stringify({
        type: 'checkpoint',
        checkpoint: 'o\n2\n' + h + '\n\n— o abc=\n',
        consistency: { from_size: 1, hashes: [h] },
        proofs: [{ index: 1, hashes: [h] }],
      }),
    );
    expect(f.ok && f.value.type).toBe('checkpoint');
  });

  it('refuses a hash that is not a base64 SHA-256', () => {
    const f = parseServerFrame(
      JSON.stringify({ type: 'checkpoint', checkpoint: 'x', proofs: [{ index: 0, hashes: ['abc'] }] }),
    );
    expect(f.ok).toBe(false);
  });

  it('a subscribe may ask for checkpoints, from a verified size', () => {
    expect(parseClientFrame('{"type":"subscribe","checkpoints":{"from_size":5}}').ok).toBe(true);
    expect(parseClientFrame('{"type":"subscribe","checkpoints":{"size":5}}').ok).toBe(false);
  });
});
