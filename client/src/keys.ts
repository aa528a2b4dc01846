import type { JWK } from 'jose';
import type { Config } from './config.js';
import { failover, fetchJwks } from './http.js';
import type { Journal } from './journal/index.js';
import type { Recovery } from './recovery.js';
import { fingerprint, signingJwk } from './verify.js';
import { KeyPinError } from './errors.js';

/**
 * Trust on first use, with an optional out-of-band fingerprint in the config: the server signing key is
 * pinned in the journal the first time, and a different key later is refused (signals would be rejected).
 */

export { KeyPinError };

/** A changed key is re-pinned only with the fingerprint the operator announced. */
export const REPIN: Recovery = {
  first:
    'if the server operator confirms the rotation (`catalyst-server keys signing` prints the fingerprint)',
  commands: ['pin --replace --fingerprint <the fingerprint the operator gave you>', 'run'],
};

export async function serverKeyStatus(
  config: Config,
  journal: Journal,
): Promise<{ jwk: JWK; fingerprint: string; pinned: 'existing' | 'new' }> {
  // Every gateway of a cluster presents the same key: whichever answers first.
  const jwk = signingJwk(
    await failover(config.server.urls, (baseUrl, failFast) => fetchJwks({ baseUrl, failFast })),
  );
  const fp = await fingerprint(jwk);
  const expected = config.server.signing_key_fingerprint;
  if (expected && expected !== fp) {
    throw new KeyPinError(
      `server signing key ${fp} does not match server.signing_key_fingerprint ${expected}: refusing`,
    );
  }
  const pin = journal.pinnedKey();
  if (pin) {
    if (pin.fingerprint !== fp) {
      throw new KeyPinError(
        `server signing key CHANGED: pinned ${pin.fingerprint}, server now presents ${fp}. Refusing`,
        REPIN,
      );
    }
    return { jwk, fingerprint: fp, pinned: 'existing' };
  }
  journal.pinKey(fp, jwk as Record<string, unknown>);
  return { jwk, fingerprint: fp, pinned: 'new' };
}

/** The key to verify with: the pin when there is one (no network needed), else pin now. */
export async function pinnedOrFetch(
  config: Config,
  journal: Journal,
): Promise<{ jwk: JWK; fingerprint: string }> {
  const pin = journal.pinnedKey();
  if (pin) {
    if (config.server.signing_key_fingerprint && config.server.signing_key_fingerprint !== pin.fingerprint) {
      throw new KeyPinError(
        `pinned key ${pin.fingerprint} does not match server.signing_key_fingerprint in the config`,
      );
    }
    return { jwk: pin.jwk as JWK, fingerprint: pin.fingerprint };
  }
  return serverKeyStatus(config, journal);
}
