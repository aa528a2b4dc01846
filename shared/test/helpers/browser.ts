import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, driven by playwright-core (which never downloads a browser). CI installs the `chromium`
 * package (.ci/run); CHROMIUM_PATH overrides the location. The page tests (client dashboard, server status
 * page) share this one launcher so a browser flag is decided in one place.
 */
const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium', '/usr/bin/chromium'];

export function chromiumPath(): string | undefined {
  return CANDIDATES.find((p): p is string => p !== undefined && p !== '' && existsSync(p));
}

/** Why browser tests cannot run here, or undefined when they can. Under CI=true a missing browser is a failure. */
export function browserUnavailable(): string | undefined {
  if (chromiumPath() !== undefined) return undefined;
  return 'Debian chromium is not installed (apt-get install chromium); set CHROMIUM_PATH to use another build';
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (executablePath === undefined) throw new Error(browserUnavailable());
  return chromium.launch({
    executablePath,
    headless: true,
    // --no-sandbox: CI runs as root, where Chromium refuses its sandbox. The pages under test are our own,
    // served on 127.0.0.1; no third-party content is ever loaded.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
}
