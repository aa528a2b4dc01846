import { render } from 'preact';
import { PROTOCOL_VERSION } from '@catalyst-signal/shared';

function App() {
  return (
    <main>
      <h1>Catalyst server status</h1>
      <p>protocol {PROTOCOL_VERSION}</p>
    </main>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
