import type { TrackRecord } from '@catalyst-signal/shared';
import { useEffect, useState } from 'preact/hooks';
import { Login, type LoginText } from '../login.js';
import { sessionKey } from '../session.js';
import { fetchTrackRecord, NO_FILTERS, type Filters } from './fetch.js';
import { TrackRecordView } from './view.js';

/** The read key lives in this tab's sessionStorage only, like the status page's admin key (its own item). */
export const readKey = sessionKey('catalyst.track_record.read_key');

const TEXT: LoginText = {
  title: 'Catalyst track record',
  label: 'Read key',
  open: 'Open track record',
  create: 'npx --no -- catalyst-server keys create --name friend --scope read',
};

export function TrackRecordApp() {
  const [key, setKey] = useState<string | undefined>(() => readKey.get());
  const [message, setMessage] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [record, setRecord] = useState<TrackRecord | undefined>();

  const logout = (why?: string) => {
    readKey.clear();
    setKey(undefined);
    setRecord(undefined);
    setMessage(why);
  };

  useEffect(() => {
    if (!key) return;
    let cancelled = false;
    setBusy(true);
    void fetchTrackRecord(key, filters).then((r) => {
      if (cancelled) return;
      setBusy(false);
      if (!r.ok) {
        if (r.logout || !record) return logout(r.message);
        return setMessage(r.message);
      }
      readKey.set(key);
      setMessage(undefined);
      setRecord(r.record);
    });
    return () => void (cancelled = true);
  }, [key, filters]);

  if (!key || !record) return <Login text={TEXT} message={message} busy={busy} onKey={(k) => setKey(k)} />;
  return (
    <main>
      <header>
        <h1>Catalyst track record</h1>
        <button class="link" onClick={() => logout()}>
          log out
        </button>
      </header>
      {message && (
        <p class="error" role="alert" data-testid="error">
          {message}
        </p>
      )}
      <TrackRecordView record={record} filters={filters} busy={busy} onFilters={setFilters} />
    </main>
  );
}
