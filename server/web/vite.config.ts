import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { pageConfig } from '../../web/vite.shared.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// The operator's status page ships inside the server package (server/dist/web).
export default defineConfig(pageConfig(here, path.join(here, '../dist/web')));
