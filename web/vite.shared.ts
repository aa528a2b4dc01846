import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UserConfig } from 'vite';

/**
 * One Vite setup for both pages (the friend's dashboard in client/web, the operator's status page in server/web):
 * Preact through esbuild's automatic JSX runtime (no Babel preset needed), the wire contract straight from
 * shared/src (so a page never needs shared built first), relative asset URLs (the page is served under a path
 * by the client's and the server's own HTTP code), and no source maps or inline scripts (the pages run under a
 * strict CSP: script-src 'self').
 */
const repoRoot = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

export function pageConfig(pageDir: string, outDir: string): UserConfig {
  return {
    root: pageDir,
    base: './',
    logLevel: 'warn',
    publicDir: false,
    resolve: {
      alias: { '@catalyst-signal/shared': path.join(repoRoot, 'shared/src/index.ts') },
    },
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: {
      outDir,
      emptyOutDir: true,
      sourcemap: false,
      // One JS and one CSS file per page, hashed names: cacheable forever, and the CSP stays 'self'.
      modulePreload: { polyfill: false },
      assetsInlineLimit: 0,
      target: 'es2022',
      reportCompressedSize: false,
    },
  };
}
