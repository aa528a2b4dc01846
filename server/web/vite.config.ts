import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { pageConfig } from '../../web/vite.shared.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const base = pageConfig(here, path.join(here, '../dist/web'));
// The server's pages ship inside the server package (server/dist/web): the operator's status page and the
// track record, two entries whose shared code (Preact, uPlot, the wire contract) is one hashed chunk.
export default defineConfig({
  ...base,
  build: {
    ...base.build,
    rolldownOptions: {
      input: { index: path.join(here, 'index.html'), 'track-record': path.join(here, 'track-record.html') },
    },
  },
});
