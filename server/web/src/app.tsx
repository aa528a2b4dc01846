import type { Signal, StatusFrame } from '@catalyst-signal/shared';
import { STATUS_LIMITS } from '@catalyst-signal/shared';
import { useEffect, useRef, useState } from 'preact/hooks';
import { startLive, type Connection } from './live.js';
import { checkAdminKey } from './login-check.js';
import { Login } from './login.js';
import { adminKey } from './session.js';
import { StatusView } from './status-view.js';

function ConnectionBadge(props: { c: Connection }) {
  const c = props.c;
  const text =
    c.state === 'live'
      ? 'live'
      : c.state === 'reconnecting'
        ? `reconnecting in ${Math.ceil(c.delayMs / 1000)} s (${c.reason})`
        : c.state === 'connecting'
          ? 'connecting…'
          : 'refused';
  return (
    <span class={`badge ${c.state}`} data-testid="connection">
      {text}
    </span>
  );
}

export function App() {
  const [key, setKey] = useState<string | undefined>(() => adminKey.get());
  const [message, setMessage] = useState<string | undefined>();
  const [checking, setChecking] = useState(false);
  const [verified, setVerified] = useState(false);
  const [conn, setConn] = useState<Connection>({ state: 'connecting' });
  const [status, setStatus] = useState<StatusFrame | undefined>();
  const [recent, setRecent] = useState<readonly Signal[]>([]);
  const stop = useRef<(() => void) | undefined>(undefined);

  const logout = (why?: string) => {
    stop.current?.();
    stop.current = undefined;
    adminKey.clear();
    setKey(undefined);
    setVerified(false);
    setStatus(undefined);
    setRecent([]);
    setMessage(why);
  };

  // A key from this tab's session (a reload) or the form: check it over REST first, for a clear answer.
  useEffect(() => {
    if (!key || verified) return;
    let cancelled = false;
    setChecking(true);
    void checkAdminKey(key).then((r) => {
      if (cancelled) return;
      setChecking(false);
      if (!r.ok) return logout(r.message);
      adminKey.set(key);
      setMessage(undefined);
      setVerified(true);
    });
    return () => void (cancelled = true);
  }, [key, verified]);

  useEffect(() => {
    if (!key || !verified) return;
    stop.current = startLive(key, {
      status: setStatus,
      signal: (s) => setRecent((list) => [s, ...list].slice(0, STATUS_LIMITS.maxRecent)),
      connection: (c) => {
        setConn(c);
        if (c.state === 'refused') logout(c.message);
      },
    });
    return () => stop.current?.();
  }, [key, verified]);

  if (!key || !verified) return <Login message={message} busy={checking} onKey={(k) => setKey(k)} />;
  return (
    <main>
      <header>
        <h1>Catalyst server status</h1>
        <ConnectionBadge c={conn} />
        <button class="link" onClick={() => logout()}>
          log out
        </button>
      </header>
      <StatusView status={status} recent={recent} />
    </main>
  );
}
