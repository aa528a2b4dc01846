import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file of a built page, read once at start, with the headers it is served with. */
export interface PageFile {
  body: Buffer;
  contentType: string;
  cacheControl: string;
}

/**
 * Content types by extension: only what Vite emits for our pages. Anything else in the directory is not
 * served (a page never needs it, and an unknown type would be sniffable).
 */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** Hashed asset names (`index-B3x_9aQe.js`): their content never changes under that name. */
const HASHED = /-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html names the current hashes: always revalidated, so a new release is picked up at once. */
const NO_CACHE = 'no-cache';

/** Largest built page we serve from memory (the budget is 150 KB gzipped; this is a safety bound). */
const MAX_TOTAL_BYTES = 8 * 1024 * 1024;

/**
 * The built page's files keyed by their path below the page root (`index.html`, `assets/index-….js`). Read
 * into memory once: a few hundred KB, served without a filesystem lookup per request (and no path from a
 * request ever reaches the filesystem, so there is no traversal to get wrong).
 */
export function loadPageFiles(dir: string): Map<string, PageFile> {
  const files = new Map<string, PageFile>();
  if (!existsSync(path.join(dir, 'index.html'))) return files;
  let total = 0;
  const walk = (sub: string) => {
    for (const name of readdirSync(path.join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      const full = path.join(dir, rel);
      if (statSync(full).isDirectory()) {
        walk(rel);
        continue;
      }
      const type = TYPES[path.extname(name)];
      if (!type) continue;
      const body = readFileSync(full);
      total += body.length;
      if (total > MAX_TOTAL_BYTES) throw new Error(`${dir} holds more than ${MAX_TOTAL_BYTES} bytes of page`);
      files.set(rel, {
        body,
        contentType: type,
        cacheControl: rel !== 'index.html' && HASHED.test(name) ? IMMUTABLE : NO_CACHE,
      });
    }
  };
  walk('');
  return files;
}

/** server/dist/web, from src/web (tests run the sources) and from dist/web (the built server) alike. */
export function defaultPageDir(): string {
  return fileURLToPath(new URL('../../dist/web', import.meta.url));
}

/**
 * The headers of every page response. The page is our own static code and needs nothing else: scripts,
 * styles and the WebSocket only from this origin (connect-src 'self' covers ws:/wss: to the same host and
 * port), no framing (clickjacking), no plugins, no <base> games, no form posts, no referrer.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
