import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { classification, startTestServer, tempDir } from '../../server/test/helpers/server.js';
import { parseConfig } from '../src/config.js';
import { CLI } from './helpers/client-process.js';

/**
 * `init` picks the venue the server publishes (issue 19 item 7): the only real publisher sends US small caps, so
 * a crypto config would trade stock tickers as token pairs. Through the built CLI, as a friend runs it (not a
 * terminal, so it does not ask), against a real server on port 0.
 */

function cli(args: string[], cwd: string, env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; out: string }>((done, reject) => {
    // Only PATH from the environment: no Alpaca or server keys leak in from the machine.
    const p = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { PATH: process.env['PATH'], ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => done({ code, out }));
  });
}

const venueOf = (dir: string) =>
  parseConfig(parse(readFileSync(join(dir, 'catalyst.yaml'), 'utf8'))).exchange.venue;

describe('catalyst-client init: the venue', () => {
  it('a server publishing us_equity signals gives a us_equity paper config with the Alpaca block, and check accepts it', async () => {
    const s = await startTestServer();
    for (let i = 0; i < 4; i++) {
      const r = await s.post(classification(i, { symbol: 'KLTO', asset_class: 'us_equity', price: 2.5 }));
      expect(r.status).toBe(201);
    }
    const dir = tempDir('cc-init-venue-');
    writeFileSync(join(dir, '.env'), `CATALYST_SERVER_KEY=${s.readKey}\n`);
    const init = await cli(['init', '--server', s.url], dir);
    expect(init.code, init.out).toBe(0);
    expect(init.out).toMatch(/the server's last 4 signals: 4 us_equity, 0 crypto/);
    const text = readFileSync(join(dir, 'catalyst.yaml'), 'utf8');
    const c = parseConfig(parse(text));
    expect(c.mode).toBe('paper');
    expect(c.exchange).toMatchObject({
      venue: 'us_equity',
      alpaca: { endpoint: 'paper', api_key_env: 'APCA_API_KEY_ID', secret_env: 'APCA_API_SECRET_KEY' },
    });
    expect(text).toMatch(/^#\s+APCA_API_KEY_ID=PK/m);
    const check = await cli(['check'], dir);
    expect(check.code, check.out).toBe(0);
    expect(check.out).toMatch(/all checks passed/);
    expect(check.out).toMatch(/Alpaca keys: APCA_API_KEY_ID and APCA_API_SECRET_KEY not set/);
  });

  it('a server publishing crypto signals gives crypto_spot; --venue overrides the guess either way', async () => {
    const s = await startTestServer();
    for (let i = 0; i < 3; i++)
      expect((await s.post(classification(i, { symbol: 'BTC', asset_class: 'crypto' }))).status).toBe(201);
    const env = { CATALYST_SERVER_KEY: s.readKey };
    const guessed = tempDir('cc-init-venue-');
    expect((await cli(['init', '--server', s.url], guessed, env)).code).toBe(0);
    expect(venueOf(guessed)).toBe('crypto_spot');

    const forced = tempDir('cc-init-venue-');
    const r = await cli(['init', '--server', s.url, '--venue', 'us_equity'], forced, env);
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toMatch(/last \d+ signals/); // not asked: the flag decides
    expect(venueOf(forced)).toBe('us_equity');

    const crypto = tempDir('cc-init-venue-');
    expect((await cli(['init', '--venue', 'crypto_spot'], crypto)).code).toBe(0);
    const c = parseConfig(parse(readFileSync(join(crypto, 'catalyst.yaml'), 'utf8')));
    expect(c.exchange).toMatchObject({ venue: 'crypto_spot', quote: 'USDT' });

    const bad = await cli(['init', '--venue', 'stocks'], tempDir('cc-init-venue-'));
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/Allowed choices are us_equity, crypto_spot/);
    expect(bad.out).not.toMatch(/\n\s+at /);
  });

  it('server unreachable, or no key: us_equity, with a note saying why', async () => {
    // A port that was free a moment ago and has nothing listening now.
    const port = await new Promise<number>((done) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => done(p));
      });
    });
    const dead = tempDir('cc-init-venue-');
    const r = await cli(['init', '--server', `http://127.0.0.1:${port}`], dead, {
      CATALYST_SERVER_KEY: 'cat_x',
    });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^note: could not ask the server \(.*ECONNREFUSED.*\); venue us_equity/m);
    expect(venueOf(dead)).toBe('us_equity');
    // The one "wrote" line names the file (scripts and the systemd unit test read it).
    expect(r.out.match(/^wrote /gm)).toHaveLength(1);
    expect(r.out).toMatch(/^wrote \S+catalyst\.yaml /m);

    const s = await startTestServer();
    const nokey = tempDir('cc-init-venue-');
    const r2 = await cli(['init', '--server', s.url], nokey);
    expect(r2.code, r2.out).toBe(0);
    expect(r2.out).toMatch(/^note: no read key in CATALYST_SERVER_KEY .*; venue us_equity/m);
    expect(venueOf(nokey)).toBe('us_equity');

    const empty = tempDir('cc-init-venue-');
    const r3 = await cli(['init', '--server', s.url], empty, { CATALYST_SERVER_KEY: s.readKey });
    expect(r3.out).toMatch(/^note: the server has no signals yet; venue us_equity/m);
  });
});

describe('init in a terminal asks, the guess being the default', () => {
  it('Enter keeps the guess, 2 picks crypto_spot, anything else asks again', async () => {
    const { askVenue } = await import('../src/commands/init.js');
    const { PassThrough } = await import('node:stream');
    const guess = {
      venue: 'us_equity' as const,
      known: false,
      why: 'the server has no signals yet; venue us_equity',
    };
    const ask = async (answers: string) => {
      const input = new PassThrough();
      const output = new PassThrough();
      let shown = '';
      output.on('data', (d: Buffer) => (shown += d.toString()));
      input.end(answers);
      return { venue: await askVenue(guess, { input, output }), shown };
    };
    expect((await ask('\n')).venue).toBe('us_equity');
    const two = await ask('stocks\n2\n');
    expect(two.venue).toBe('crypto_spot');
    expect(two.shown).toMatch(/^note: the server has no signals yet/);
    expect(two.shown).toMatch(/answer 1, 2, us_equity or crypto_spot/);
  });
});

describe("init's last line asks only for what is still missing", () => {
  const last = (out: string) => out.trim().split('\n').at(-1);

  it('the read key already in .env (as the Quick start does) is not asked for again', async () => {
    const dir = tempDir('cc-init-next-');
    writeFileSync(join(dir, '.env'), 'CATALYST_SERVER_KEY=cat_x\n');
    const r = await cli(['init', '--venue', 'us_equity'], dir);
    expect(r.code, r.out).toBe(0);
    expect(last(r.out)).toBe(
      'next: put APCA_API_KEY_ID/APCA_API_SECRET_KEY for your Alpaca paper account (paper mode runs without them) in .env, then run: npx --no -- catalyst-client check',
    );
  });

  it('everything in .env: just check; nothing set and another config file: the read key, and check with --config', async () => {
    const all = tempDir('cc-init-next-');
    writeFileSync(
      join(all, '.env'),
      'CATALYST_SERVER_KEY=cat_x\nAPCA_API_KEY_ID=PKX\nAPCA_API_SECRET_KEY=secret\n',
    );
    expect(last((await cli(['init', '--venue', 'us_equity'], all)).out)).toBe(
      'next: npx --no -- catalyst-client check',
    );
    const none = tempDir('cc-init-next-');
    const r = await cli(['-c', 'mine.yaml', 'init', '--venue', 'crypto_spot'], none);
    expect(r.code, r.out).toBe(0);
    expect(last(r.out)).toBe(
      'next: put CATALYST_SERVER_KEY=... (your read key) in .env, then run: npx --no -- catalyst-client --config mine.yaml check',
    );
  });
});
