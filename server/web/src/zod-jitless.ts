import { z } from 'zod';

// The page runs under a CSP without 'unsafe-eval'. zod 4 probes for eval with `new Function('')` on its first
// object parse (to compile fast parsers), which the browser reports as a CSP violation; jitless parsing never
// probes. Imported first by main.tsx, so it is set before any schema parses.
z.config({ jitless: true });
