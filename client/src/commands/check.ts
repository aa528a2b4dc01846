import WebSocket from 'ws';
import { SUPPORTED_PROTOCOLS, parseServerFrame, type HelloFrame } from '@catalyst-signal/shared';
import type { Context } from '../context.js';
import { HttpError, fetchHealth, fetchHistory, streamUrl } from '../http.js';
import { exchangeKeyEnvs } from '../config.js';
import { Journal } from '../journal/index.js';
import { serverKeyStatus } from '../keys.js';
import { OVERSIZE_FRAME, WS_MAX_PAYLOAD_BYTES, isOversizeFrame } from '../limits.js';
import { netReason } from '../net-error.js';
import { checkAlpaca } from './check-alpaca.js';
import { dirname, join } from 'node:path';
import { openToOthers } from '../file-modes.js';
import { formatDuration } from '../decide/time-text.js';
import { messageWithRecovery } from '../recovery.js';

/**
 * `catalyst-client check`: every precondition of a safe run, each reported, all of them tried even when one
 * fails. Returns the report and whether everything that must pass passed.
 */

type Line = { ok: boolean | 'warn'; what: string };

function waitHello(
  url: string,
  key: string,
  timeoutMs: number,
): Promise<{ hello: HelloFrame; receivedAt: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${key}` },
      handshakeTimeout: timeoutMs,
      maxPayload: WS_MAX_PAYLOAD_BYTES,
    });
    const timer = setTimeout(
      () => (ws.terminate(), reject(new Error(`no hello frame within ${formatDuration(timeoutMs)}`))),
      timeoutMs,
    );
    ws.on(
      'unexpected-response',
      (_q, res) => (
        clearTimeout(timer),
        ws.terminate(),
        reject(new Error(`upgrade refused: HTTP ${res.statusCode}`))
      ),
    );
    ws.on(
      'error',
      (e) => (clearTimeout(timer), reject(new Error(isOversizeFrame(e) ? OVERSIZE_FRAME : netReason(e)))),
    );
    ws.on('message', (d) => {
      const f = parseServerFrame(d.toString());
      if (f.ok && f.value.type === 'hello') {
        clearTimeout(timer);
        ws.close(1000);
        resolve({ hello: f.value, receivedAt: Date.now() });
      }
    });
  });
}

/** Health, clock, epoch, key and stream of one server URL. `several`: the lines name the URL they are about. */
async function checkServerUrl(
  url: string,
  several: boolean,
  ctx: Context,
  journal: Journal,
  epochs: Map<string, string>,
): Promise<{ reach: Line[]; access: Line[] }> {
  const { config, secrets } = ctx;
  const reach: Line[] = [];
  const access: Line[] = [];
  let lines = reach;
  const add = (ok: Line['ok'], what: string) => lines.push({ ok, what });
  const at = several ? ` (${url})` : '';
  const maxSkew = config.server.max_clock_skew_ms;
  let head = 0;
  try {
    const h = await fetchHealth({ baseUrl: url });
    head = Number(h.body['head_seq'] ?? 0);
    if (typeof h.body['epoch'] === 'string') epochs.set(url, h.body['epoch']);
    add(
      h.body['status'] === 'ok',
      `server ${url} reachable: status ${String(h.body['status'])}, epoch ${String(h.body['epoch'])}, head ${head}`,
    );
    if (h.skewMs !== undefined) {
      const precise = typeof h.body['time'] === 'number';
      const slack = precise ? 0 : 1000; // the Date header only has 1 s resolution
      add(
        Math.abs(h.skewMs) <= maxSkew + slack,
        `clock vs server${at} ${precise ? '/healthz time' : 'HTTP Date'}: ${formatDuration(Math.round(h.skewMs))} (max ${formatDuration(maxSkew)})`,
      );
    }
    const cur = journal.cursor();
    if (cur.epoch && h.body['epoch'] && cur.epoch !== h.body['epoch'])
      add(
        false,
        `server${at} epoch ${String(h.body['epoch'])} differs from the journal's ${cur.epoch}: the server history was replaced`,
      );
  } catch (e) {
    // The message names the URL asked and why it failed (ECONNREFUSED, DNS, certificate, HTTP status).
    add(false, `server unreachable: ${(e as Error).message}`);
  }
  lines = access;
  if (!secrets.serverKey) return { reach, access };
  try {
    await fetchHistory({ baseUrl: url, key: secrets.serverKey }, head, 1);
    add(true, `server key accepted${at} (history readable)`);
  } catch (e) {
    add(
      false,
      `${e instanceof HttpError && (e.status === 401 || e.status === 403) ? 'server key refused' : 'history not readable'}: ${(e as Error).message}`,
    );
  }
  const stream = streamUrl(url);
  try {
    const { hello, receivedAt } = await waitHello(stream, secrets.serverKey, 5000);
    add(
      SUPPORTED_PROTOCOLS.includes(hello.protocol),
      `stream${several ? ` ${stream}` : ''}: protocol ${hello.protocol} (client speaks ${SUPPORTED_PROTOCOLS.join(', ')}), heartbeat ${formatDuration(hello.heartbeat_ms)}, authenticated ${hello.authenticated}`,
    );
    const skew = hello.time - receivedAt;
    add(
      Math.abs(skew) <= maxSkew,
      `clock skew vs server${at}: ${formatDuration(skew)} (max ${formatDuration(maxSkew)})`,
    );
  } catch (e) {
    add(false, `stream ${stream}: ${(e as Error).message}`);
  }
  return { reach, access };
}

export async function checkCommand(
  ctx: Context,
  opts: { live?: boolean },
): Promise<{ ok: boolean; report: string }> {
  const { config, secrets } = ctx;
  const lines: Line[] = [{ ok: true, what: `config ${ctx.configPath} is valid (mode ${config.mode})` }];
  const add = (ok: Line['ok'], what: string) => lines.push({ ok, what });
  // Secrets (.env) and the journal are for this user alone; a warning, since only this user can judge.
  const files: [string, string][] = [
    [ctx.configPath, 'config'],
    ...[...new Set([dirname(ctx.configPath), process.cwd()])].map((d): [string, string] => [
      join(d, '.env'),
      '.env',
    ]),
    [ctx.dataDir, 'data dir'],
  ];
  for (const [path, what] of files) {
    const w = openToOthers(path, what);
    if (w) add('warn', w);
  }
  const journal = Journal.open(ctx.journalPath);
  try {
    // --- server ---
    if (!secrets.serverKey)
      add(false, `server key: ${config.server.key_env} is not set (environment or .env)`);
    // Every URL is checked (a cluster: each gateway); the signing key once, from whichever answers.
    const urls = config.server.urls;
    const several = urls.length > 1;
    const perUrl: { reach: Line[]; access: Line[] }[] = [];
    const epochs = new Map<string, string>();
    for (const url of urls) perUrl.push(await checkServerUrl(url, several, ctx, journal, epochs));
    // A dead gateway of several is a warning while another one passes every check: the client fails over.
    const healthy = perUrl.some((p) => [...p.reach, ...p.access].every((l) => l.ok !== false));
    const addAll = (ls: Line[]) => {
      for (const l of ls) add(several && healthy && l.ok === false ? 'warn' : l.ok, l.what);
    };
    for (const p of perUrl) addAll(several ? [...p.reach, ...p.access] : p.reach);
    if (new Set(epochs.values()).size > 1)
      add(
        false,
        `the servers do not serve one log (epochs ${[...epochs].map(([u, e]) => `${u}: ${e}`).join(', ')}): a client cannot fail over between them`,
      );
    try {
      const k = await serverKeyStatus(config, journal);
      add(
        true,
        `server signing key ${k.fingerprint} (${k.pinned === 'new' ? 'pinned now' : 'matches the pin'})`,
      );
    } catch (e) {
      add(false, `server signing key: ${messageWithRecovery(e, ctx.configArg ?? ctx.configPath)}`);
    }
    if (!several) addAll(perUrl[0]!.access); // one server: its key and stream lines after the signing key, as ever

    // --- exchange ---
    const live = config.mode === 'live';
    const keyEnvs = exchangeKeyEnvs(config.exchange);
    if (config.exchange.venue === 'us_equity') {
      // Alpaca: endpoint vs --live, keys, account standing, buying power, clock and calendar (check-alpaca.ts).
      for (const l of await checkAlpaca({ config, secrets, live: Boolean(opts.live) })) add(l.ok, l.what);
    } else if (!config.exchange.id) {
      add(
        live ? false : true,
        'exchange: none configured; paper mode fills at signal prices with default market rules',
      );
    } else {
      const { CcxtAdapter } = await import('../exchange/ccxt.js');
      const hasKeys = Boolean(secrets.exchangeApiKey && secrets.exchangeSecret);
      const ex = await CcxtAdapter.create({ config, secrets: hasKeys ? secrets : undefined });
      try {
        const m = await ex.loadMarkets();
        add(
          m.count > 0,
          `exchange ${config.exchange.id}${config.exchange.venue === 'crypto_spot' && config.exchange.sandbox ? ' (sandbox)' : ''}: ${m.count} spot markets loaded`,
        );
      } catch (e) {
        add(
          live ? false : 'warn',
          `exchange markets: ${(e as Error).message}${live ? '' : ' (paper mode will use default market rules)'}`,
        );
      }
      if (!hasKeys) {
        add(
          live ? false : 'warn',
          `exchange keys: ${keyEnvs.apiKey}/${keyEnvs.secret} not set${live ? '' : ' (fine for paper)'}`,
        );
      } else {
        try {
          const b = await ex.balances();
          add(true, `exchange keys work: free ${config.exchange.quote} ${b.free[ex.quote] ?? 0}`);
        } catch (e) {
          add(false, `exchange keys: balance not readable: ${(e as Error).message}`);
        }
        const w = await ex.withdrawalsEnabled();
        if (w === true)
          add(
            live ? false : 'warn',
            'exchange key CAN WITHDRAW: create a trade-only key (refused for live trading)',
          );
        else if (w === false) add(true, 'exchange key cannot withdraw');
        else
          add(
            'warn',
            'exchange key withdrawal permission: not reported by this exchange via ccxt; make sure it is trade-only',
          );
      }
      await ex.close();
    }
    if (opts.live && !live) add(false, '--live given but config mode is paper');
  } finally {
    journal.close();
  }
  const ok = lines.every((l) => l.ok !== false);
  const mark = (l: Line) => (l.ok === true ? 'ok  ' : l.ok === 'warn' ? 'warn' : 'FAIL');
  return {
    ok,
    report:
      lines.map((l) => `[${mark(l)}] ${l.what}`).join('\n') +
      `\n${ok ? 'all checks passed' : 'some checks FAILED'}`,
  };
}
