#!/usr/bin/env node
// Launcher for the built CLI. It exists in the repository (not only after a build), so npm links the
// `catalyst-client` bin at install time even on a fresh clone; it says what to do if the build is missing.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'catalyst-client is not built yet: run `npm run build` in the repository root first.\n',
  );
  process.exit(1);
}
await import(cli.href);
