import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { pageConfig } from '../../web/vite.shared.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// The dashboard ships inside the client package (client/dist/web): a tarball install needs no build step.
export default defineConfig(pageConfig(here, path.join(here, '../dist/web')));
