import { useState } from 'preact/hooks';
import { ExportQuerySchema, type ExportQuery } from '../../src/dashboard/api.js';
import { Unauthorized, downloadExport } from './api.js';

const KINDS = ExportQuerySchema.shape.kind.options;
/** The `since` choices: the same words `catalyst-client export --since` takes. */
const PERIODS = [
  { value: '1d', label: 'last day' },
  { value: '7d', label: 'last 7 days' },
  { value: '30d', label: 'last 30 days' },
  { value: '', label: 'everything' },
] as const;

/**
 * CSV downloads of decisions, orders and fills: the same files `catalyst-client export` writes. The request
 * carries the token in its header (a plain link cannot), so the file arrives as a blob the page hands to the
 * browser's download; a refusal (too many rows) is shown as the server worded it.
 */
export function ExportBar({ token, onUnauthorized }: { token: string; onUnauthorized: () => void }) {
  const [since, setSince] = useState<string>('7d');
  const [busy, setBusy] = useState<ExportQuery['kind']>();
  const [problem, setProblem] = useState<string>();
  const download = async (kind: ExportQuery['kind']) => {
    setBusy(kind);
    setProblem(undefined);
    try {
      const file = await downloadExport(token, { kind, ...(since ? { since } : {}) });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(file.blob);
      a.download = file.filename;
      document.body.append(a);
      a.click();
      a.remove();
      // The browser has taken the file once the click's task ran.
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (e) {
      if (e instanceof Unauthorized) return onUnauthorized();
      setProblem((e as Error).message);
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <section id="export">
      <h2>Export (CSV)</h2>
      <div class="export-bar">
        <label>
          period{' '}
          <select value={since} onChange={(e) => setSince((e.target as HTMLSelectElement).value)}>
            {PERIODS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
        {KINDS.map((k) => (
          <button
            key={k}
            type="button"
            data-export={k}
            disabled={busy !== undefined}
            onClick={() => void download(k)}
          >
            {busy === k ? 'preparing…' : k}
          </button>
        ))}
      </div>
      {problem && <p class="down">{problem}</p>}
    </section>
  );
}
