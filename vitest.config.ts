import { defineConfig } from 'vitest/config';

// Tests import the workspaces' built output through package names (npm test builds first), so what is tested
// is what ships. Slow suites (chaos, soak) live in *.slow.test.ts and run with `npm run test:slow`.
export default defineConfig({
  test: {
    projects: [
      {
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
