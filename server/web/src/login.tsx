import { useState } from 'preact/hooks';

export interface LoginText {
  title: string;
  label: string;
  open: string;
  create: string;
}

const STATUS_TEXT: LoginText = {
  title: 'Catalyst server status',
  label: 'Admin key',
  open: 'Open status',
  create: 'npx --no -- catalyst-server keys create --name ops --scope admin',
};

export function Login(props: {
  message: string | undefined;
  busy: boolean;
  onKey(key: string): void;
  text?: LoginText;
}) {
  const [key, setKey] = useState('');
  const t = props.text ?? STATUS_TEXT;
  return (
    <main class="login">
      <h1>{t.title}</h1>
      {/* method=post and the CSP's form-action 'none': the key can never end up in a URL, even without JS. */}
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          const k = key.trim();
          if (k) props.onKey(k);
        }}
      >
        <label for="key">{t.label}</label>
        <input
          id="key"
          name="key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          placeholder="cat_…"
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={props.busy || key.trim() === ''}>
          {props.busy ? 'Checking…' : t.open}
        </button>
      </form>
      {props.message && (
        <p class="error" role="alert" data-testid="login-error">
          {props.message}
        </p>
      )}
      <p class="hint">
        The key stays in this tab&apos;s session storage and is sent only to this server. Create one with{' '}
        <code>{t.create}</code>.
      </p>
    </main>
  );
}
