import { useRef, useState } from 'preact/hooks';
import type { KillSwitchState } from '../../src/dashboard/api.js';

/**
 * Pause / resume entries: the journal's kill switch, the same one `catalyst-client pause` sets. A click opens
 * a confirmation dialog; only "Confirm" sends the request. Nothing on this page places or cancels an order.
 */
export function PauseControl({
  state,
  onConfirm,
}: {
  state: KillSwitchState;
  onConfirm: (on: boolean, reason: string | undefined) => Promise<void>;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const pausing = !state.on;

  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm(pausing, pausing && reason.trim() ? reason.trim() : undefined);
      dialog.current?.close();
      setReason('');
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="pause">
      <button
        id="pause-toggle"
        class={pausing ? 'danger' : 'primary'}
        type="button"
        onClick={() => dialog.current?.showModal()}
      >
        {pausing ? 'Pause entries' : 'Resume entries'}
      </button>
      <dialog ref={dialog} id="confirm-dialog" aria-labelledby="confirm-title">
        <h3 id="confirm-title">{pausing ? 'Pause entries?' : 'Resume entries?'}</h3>
        <p>
          {pausing
            ? 'The kill switch goes ON: from its next decision the client skips every signal (kill_switch). Open positions and their protective orders stay as they are.'
            : 'The kill switch goes OFF: the client decides new signals again.'}
        </p>
        {pausing && (
          <label>
            Reason (optional)
            <input
              id="pause-reason"
              maxLength={200}
              value={reason}
              onInput={(e) => setReason((e.target as HTMLInputElement).value)}
            />
          </label>
        )}
        {error && <p class="down">{error}</p>}
        <div class="actions">
          <button type="button" id="confirm-cancel" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button
            type="button"
            id="confirm-ok"
            class={pausing ? 'danger' : 'primary'}
            disabled={busy}
            onClick={() => void confirm()}
          >
            {pausing ? 'Confirm pause' : 'Confirm resume'}
          </button>
        </div>
      </dialog>
    </div>
  );
}
