/**
 * Apprise's URL syntax for the services we speak (ntfy, Discord, Telegram, JSON webhook), so a self-hoster's
 * existing strings work. `${VAR}` is replaced from the environment first; every substituted value and every
 * secret part of the URL (password, token, webhook token, bot token, ntfy topic, header values) is collected so
 * logs, errors and `status` can redact them. WHATWG URL cannot parse these (a Telegram token `123:ABC` is not a
 * host:port), so the split is done here. Pure: env is an argument.
 */

export type ServiceName = 'ntfy' | 'discord' | 'telegram' | 'json';

interface Common {
  /** Safe to print: secrets replaced by `***`. */
  label: string;
  /** Every secret string in the resolved URL (never logged; redact() removes them from any text). */
  secrets: string[];
}

export type ParsedTarget = Common &
  (
    | {
        service: 'ntfy';
        /** http(s)://host[:port] */
        base: string;
        topic: string;
        auth?: { user: string; password: string } | { token: string } | undefined;
        tags?: string | undefined;
      }
    | { service: 'discord'; id: string; token: string; username?: string | undefined }
    | { service: 'telegram'; token: string; chats: string[] }
    | {
        service: 'json';
        url: string;
        auth?: { user: string; password: string } | undefined;
        headers: Record<string, string>;
      }
  );

/** A target URL that cannot be used: the message says why, never quoting a secret. */
export class NotifyUrlError extends Error {
  override name = 'NotifyUrlError';
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replace `${VAR}`; the values are secrets (an unset or empty VAR is an error naming VAR only). */
export function substituteEnv(
  template: string,
  env: Record<string, string | undefined>,
): { text: string; values: string[] } {
  const values: string[] = [];
  const missing: string[] = [];
  const text = template.replace(ENV_REF, (_, name: string) => {
    const v = env[name];
    if (v === undefined || v === '') {
      missing.push(name);
      return '';
    }
    values.push(v);
    return v;
  });
  if (missing.length)
    throw new NotifyUrlError(
      `${missing.map((m) => '${' + m + '}').join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set (environment or .env)`,
    );
  return { text, values };
}

/** Every occurrence of every secret in `text` replaced by `[redacted]` (longest first: one may contain another). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].filter((x) => x.length >= 3).sort((a, b) => b.length - a.length)) {
    out = out.split(s).join('[redacted]');
    const enc = encodeURIComponent(s);
    if (enc !== s) out = out.split(enc).join('[redacted]');
  }
  return out;
}

interface Split {
  scheme: string;
  user?: string | undefined;
  password?: string | undefined;
  host: string;
  path: string[];
  query: [string, string][];
}

function split(url: string): Split {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i.exec(url.trim());
  if (!m) throw new NotifyUrlError('not a URL of the form scheme://...');
  const [, scheme, authority, path, query] = m;
  const at = authority!.lastIndexOf('@');
  const userinfo = at >= 0 ? authority!.slice(0, at) : undefined;
  const host = at >= 0 ? authority!.slice(at + 1) : authority!;
  const colon = userinfo?.indexOf(':') ?? -1;
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return {
    scheme: scheme!.toLowerCase(),
    user: userinfo === undefined ? undefined : dec(colon >= 0 ? userinfo.slice(0, colon) : userinfo),
    password: userinfo !== undefined && colon >= 0 ? dec(userinfo.slice(colon + 1)) : undefined,
    host,
    path: path!
      .split('/')
      .filter((p) => p.length > 0)
      .map(dec),
    // By hand: URLSearchParams reads `+` as a space, and Apprise's `?+Header=value` needs the plus.
    query: (query ?? '')
      .split('&')
      .filter((kv) => kv.length > 0)
      .map((kv) => {
        const eq = kv.indexOf('=');
        return [dec(eq >= 0 ? kv.slice(0, eq) : kv), dec(eq >= 0 ? kv.slice(eq + 1) : '')] as [
          string,
          string,
        ];
      }),
  };
}

const HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i;
const SCHEMES = 'ntfy://, ntfys://, discord://, tgram://, json://, jsons://';

/** Parse one target URL (after `${VAR}` substitution from env). */
export function parseTargetUrl(template: string, env: Record<string, string | undefined>): ParsedTarget {
  const { text, values } = substituteEnv(template, env);
  try {
    return parseResolved(text, values);
  } catch (e) {
    // A message may quote a host or a chat that came from a ${VAR}: never its value.
    throw e instanceof NotifyUrlError ? new NotifyUrlError(redact(e.message, values)) : e;
  }
}

function parseResolved(text: string, values: string[]): ParsedTarget {
  const u = split(text);
  const secrets = [...values];
  const hide = (s: string | undefined) => {
    if (s) secrets.push(s);
    return s;
  };
  switch (u.scheme) {
    case 'ntfy':
    case 'ntfys': {
      const https = u.scheme === 'ntfys';
      // Apprise: ntfy://topic (no path) is a topic on the public ntfy.sh, always over https.
      const cloud = u.path.length === 0;
      const topic = cloud ? u.host : u.path.join('/');
      if (!topic) throw new NotifyUrlError('ntfy needs a topic: ntfy://host/topic');
      if (!cloud && !HOST.test(u.host)) throw new NotifyUrlError(`ntfy: "${u.host}" is not a host[:port]`);
      const base = cloud ? 'https://ntfy.sh' : `${https ? 'https' : 'http'}://${u.host}`;
      const q = (k: string) => u.query.find(([n]) => n === k)?.[1];
      const token = q('token') ?? q('auth');
      hide(topic); // the topic works like a password: whoever knows it reads the messages
      hide(u.password);
      hide(token);
      const auth = token
        ? { token }
        : u.user !== undefined && u.password !== undefined
          ? { user: u.user, password: u.password }
          : undefined;
      return {
        service: 'ntfy',
        base,
        topic,
        auth,
        tags: q('tags'),
        secrets,
        label: `${u.scheme}://${cloud ? 'ntfy.sh' : u.host}/***`,
      };
    }
    case 'discord': {
      const [id, token] = [u.host, u.path[0]];
      if (!id || !token || u.path.length > 1)
        throw new NotifyUrlError('discord needs discord://webhook_id/webhook_token');
      if (!/^\d+$/.test(id)) throw new NotifyUrlError('discord: the webhook id is a number');
      hide(token);
      return { service: 'discord', id, token, username: u.user, secrets, label: `discord://${id}/***` };
    }
    case 'tgram': {
      // Apprise accepts the token with or without its "bot" prefix.
      const token = u.host.replace(/^bot/, '');
      if (!/^\d+:[\w-]+$/.test(token))
        throw new NotifyUrlError(
          'tgram needs tgram://bot_token/chat_id (a bot token looks like 123456:ABC-DEF)',
        );
      hide(token);
      hide(u.host);
      const chats = u.path;
      if (!chats.length)
        throw new NotifyUrlError('tgram needs at least one chat id: tgram://bot_token/chat_id');
      for (const c of chats)
        if (!/^(-?\d+|@\w+)$/.test(c))
          throw new NotifyUrlError(`tgram: chat "${c}" is not a chat id (a number) or @channel`);
      return { service: 'telegram', token, chats, secrets, label: `tgram://***/${chats.join('/')}` };
    }
    case 'json':
    case 'jsons': {
      if (!HOST.test(u.host)) throw new NotifyUrlError(`json: "${u.host}" is not a host[:port]`);
      hide(u.password);
      // Apprise: ?+Header=value adds a request header (an API key header, typically).
      const headers: Record<string, string> = {};
      const rest: string[] = [];
      for (const [k, v] of u.query) {
        if (k.startsWith('+') && k.length > 1) headers[k.slice(1)] = hide(v) ?? '';
        else rest.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
      }
      const q = rest.join('&');
      const path = '/' + u.path.map(encodeURIComponent).join('/');
      return {
        service: 'json',
        url: `${u.scheme === 'jsons' ? 'https' : 'http'}://${u.host}${path}${q ? `?${q}` : ''}`,
        auth:
          u.user !== undefined && u.password !== undefined
            ? { user: u.user, password: u.password }
            : undefined,
        headers,
        secrets,
        label: redact(`${u.scheme}://${u.host}${path}`, secrets),
      };
    }
    default:
      throw new NotifyUrlError(`unknown scheme ${u.scheme}:// (use ${SCHEMES})`);
  }
}
