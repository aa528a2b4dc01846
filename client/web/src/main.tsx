import './zod-jitless.js';
import { render } from 'preact';
import { App } from './app.js';
import { takeToken } from './token.js';
import './style.css';

const root = document.getElementById('app');
if (root) render(<App initialToken={takeToken()} />, root);
