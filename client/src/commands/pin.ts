import type { Context } from '../context.js';
import { failover, fetchJwks } from '../http.js';
import { Journal } from '../journal/index.js';
import { KeyPinError, REPIN } from '../keys.js';
import { fingerprint, signingJwk } from '../verify.js';

/**
 * `pin`: show or (re)pin the server signing key. Replacing a pin is never blind: the user must pass the new
 * fingerprint as the server operator printed it (`catalyst-server keys signing`), and it must equal the key
 * the server presents now. That is the only way out of "server signing key CHANGED" (exit 5).
 */

export interface PinOptions {
  replace?: boolean;
  fingerprint?: string;
}

/** Accept `SHA256:<thumbprint>` or the bare thumbprint (what the JWKS calls `kid`). */
const normalise = (fp: string) => (fp.startsWith('SHA256:') ? fp : `SHA256:${fp}`).trim();

export async function pinCommand(ctx: Context, o: PinOptions): Promise<string> {
  const jwk = signingJwk(
    await failover(ctx.config.server.urls, (baseUrl, failFast) => fetchJwks({ baseUrl, failFast })),
  );
  const presented = await fingerprint(jwk);
  const expected = o.fingerprint === undefined ? undefined : normalise(o.fingerprint);
  if (expected !== undefined && expected !== presented) {
    throw new KeyPinError(
      `the server presents ${presented}, not the --fingerprint ${expected} you were given: refusing (ask the operator again)`,
    );
  }
  const configured = ctx.config.server.signing_key_fingerprint;
  if (configured && configured !== presented) {
    throw new KeyPinError(
      `the server presents ${presented} but server.signing_key_fingerprint in ${ctx.configPath} is ${configured}: update the config first`,
    );
  }
  const j = Journal.open(ctx.journalPath);
  try {
    const pin = j.pinnedKey();
    if (!pin) {
      j.pinKey(presented, jwk as Record<string, unknown>);
      return `pinned ${presented} (compare it with what the server operator tells you)`;
    }
    if (pin.fingerprint === presented)
      return `pinned ${presented} (unchanged; the server presents the same key)`;
    if (!o.replace) {
      throw new KeyPinError(
        `server signing key CHANGED: pinned ${pin.fingerprint}, server now presents ${presented}. Refusing`,
        { ...REPIN, commands: REPIN.commands.slice(0, 1) },
      );
    }
    if (expected === undefined) {
      throw new KeyPinError(
        `--replace needs --fingerprint <fp> as the server operator printed it (the server presents ${presented}); ` +
          'a pin is never replaced blind',
      );
    }
    j.pinKey(presented, jwk as Record<string, unknown>);
    return `replaced the pinned key\n  old ${pin.fingerprint}\n  new ${presented}`;
  } finally {
    j.close();
  }
}
