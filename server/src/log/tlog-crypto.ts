/** node:crypto behind the transparency-log core's injected hashing (shared/src/tlog stays browser-safe). */
import { createHash } from 'node:crypto';
import type { Sha256 } from '@catalyst-signal/shared';

export const sha256: Sha256 = (data) => new Uint8Array(createHash('sha256').update(data).digest());
