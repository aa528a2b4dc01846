import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateFile } from './file-modes.js';

/** In the data dir: the dashboard's link, with its per-start token, when stdout is not a terminal. */
export const DASHBOARD_LINK_FILE = 'dashboard-url';

/**
 * Hand the dashboard link to the person who started it. The link carries the access token, so it is printed
 * only to a terminal: under systemd (or any pipe) stdout lands in the journal or a log file that others can
 * read, so the link goes to a 0600 file in the data dir instead, and stdout says where. Returns the cleanup for
 * close (the token dies with the process; its file goes too).
 */
export function announceDashboard(
  url: string,
  dataDir: string,
  say: (line: string) => void,
  terminal = Boolean(process.stdout.isTTY),
): () => void {
  if (terminal) {
    say(`dashboard: ${url}`);
    return () => undefined;
  }
  const file = join(dataDir, DASHBOARD_LINK_FILE);
  ensurePrivateFile(file);
  writeFileSync(file, `${url}\n`);
  say(
    `dashboard: the link (with its access token) is in ${file}; stdout is not a terminal, so it is not printed`,
  );
  return () => {
    try {
      if (readFileSync(file, 'utf8').trim() === url) rmSync(file);
    } catch {
      /* already gone */
    }
  };
}
