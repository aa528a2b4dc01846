import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

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

/**
 * What a page does wrong that a person would see in the browser's console: a CSP violation, an uncaught error,
 * or one of the page's own files (a script, a style, the icon) failing to load. Answers from the API (`/v1/`,
 * `/api/`) are left out: a 401 for a wrong key is what a test expects. Watch a context to cover every page it
 * opens; the returned list fills as things happen (assert it is empty at the end of each test).
 *
 * CSP violations are taken from the DOM's `securitypolicyviolation` event, not from console text: Chromium now
 * reports a blocked eval (zod's `Function('')` probe) as a DevTools issue and a console *note* that contains
 * neither "Content Security Policy" nor "Refused to", which is how a violation went unnoticed by text matching.
 */
export async function watchPageProblems(target: BrowserContext | Page): Promise<string[]> {
  const problems: string[] = [];
  await target.exposeBinding('__catalystCspViolation', (_source, v: string) => {
    problems.push(`CSP violation: ${v}`);
  });
  // A string, not a function: this file is compiled without DOM types.
  await target.addInitScript(`addEventListener('securitypolicyviolation', (e) => {
    void globalThis.__catalystCspViolation(e.effectiveDirective + ' blocked ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber);
  }, true);`);
  const onConsole = (m: ConsoleMessage) => {
    if (m.type() !== 'error') return;
    const url = m.location().url;
    const api = /\/(v1|api)\//.test(new URL(url || 'about:blank', 'http://x').pathname);
    if (/Failed to load resource/i.test(m.text()) && !api) problems.push(`${m.text()}: ${url}`);
  };
  const onPageError = (e: Error) => problems.push(`page error: ${e.message}`);
  const watch = (p: Page) => {
    p.on('console', onConsole);
    p.on('pageerror', onPageError);
  };
  if ('newPage' in target) {
    for (const p of target.pages()) watch(p);
    target.on('page', watch);
  } else watch(target);
  return problems;
}
