import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// In-process tests import TypeScript sources (their own workspace's src/, and the shared package through this
// alias), so `npm run test:fast` never runs a stale build. Tests that spawn the CLIs run the built bins, which is
// why every test script builds first. Slow suites (chaos, soak) live in *.slow.test.ts: `npm run test:chaos`.
export default defineConfig({
  resolve: {
    alias: {
      // Subpath exports before the package name: vite matches aliases by prefix, in order.
      '@catalyst-signal/shared/text': fileURLToPath(new URL('./shared/src/text.ts', import.meta.url)),
      '@catalyst-signal/shared/calendar': fileURLToPath(
        new URL('./shared/src/calendar/index.ts', import.meta.url),
      ),
      '@catalyst-signal/shared/outcomes': fileURLToPath(
        new URL('./shared/src/outcomes/index.ts', import.meta.url),
      ),
      '@catalyst-signal/shared/market-data': fileURLToPath(
        new URL('./shared/src/market-data/index.ts', import.meta.url),
      ),
      '@catalyst-signal/shared': fileURLToPath(new URL('./shared/src/index.ts', import.meta.url)),
    },
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'fast',
          include: ['{shared,server,client}/test/**/*.test.ts'],
          exclude: ['**/*.slow.test.ts', '**/node_modules/**'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          pool: 'forks',
        },
      },
      {
        extends: true,
        test: {
          name: 'slow',
          include: ['{shared,server,client}/test/**/*.slow.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
    ],
  },
});
