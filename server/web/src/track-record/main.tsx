import '../zod-jitless.js';
import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import '../style.css';
import './track-record.css';
import { TrackRecordApp } from './app.js';

const root = document.getElementById('app');
if (root) render(<TrackRecordApp />, root);
