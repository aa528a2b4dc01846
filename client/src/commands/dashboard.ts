import type { Context } from '../context.js';
import { Journal } from '../journal/index.js';
import { announceDashboard } from '../dashboard-link.js';
import { startDashboard, type DashboardServer } from '../dashboard/server.js';

/**
 * `catalyst-client dashboard`: the local dashboard on its own, reading the configured client's journal (it
 * works while `run` runs in another process: the journal is SQLite WAL). Gives ONE URL carrying the
 * per-start token in its fragment, which never reaches a server log or a Referer: printed to a terminal,
 * else written to a 0600 file in the data dir (announceDashboard).
 */
export async function dashboardCommand(
  ctx: Context,
  say: (line: string) => void,
): Promise<{ server: DashboardServer; done: Promise<number> }> {
  Journal.openExisting(ctx.journalPath, ctx.configArg ?? ctx.configPath).close();
  const server = await startDashboard({
    config: ctx.config,
    journalPath: ctx.journalPath,
    log: ctx.log,
    password: ctx.secrets.dashboardPassword,
  });
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  let forget = () => undefined as void;
  const stop = () =>
    void server.close().then(() => {
      forget();
      resolveDone(0);
    });
  // Before the URL line: whoever waits for it may stop us at once, and must not meet the default handler.
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  forget = announceDashboard(server.url, ctx.dataDir, say);
  return { server, done };
}
