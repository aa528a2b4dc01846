/**
 * The transparency log's pure core (docs/transparency-log.md): RFC 6962 hashing and proofs, C2SP signed notes,
 * checkpoints and tlog-proof files. No node:* imports: SHA-256 and Ed25519 are passed in, so pages can use it.
 */
export * from './bytes.js';
export * from './merkle.js';
export * from './note.js';
export * from './checkpoint.js';
export * from './cosignature.js';
export * from './tiles.js';
