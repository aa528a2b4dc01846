import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { PATHS } from '@catalyst-signal/shared';
import { notFound, unavailable } from '../errors.js';
import { PAGE_HEADERS, type PageFile } from '../status/page-files.js';
import { problemReply, send } from './respond.js';

function answer(res: HttpResponse, status: string, headers: Record<string, string>, body: Buffer | string) {
  // Answered synchronously from memory: no onAborted needed (uWS requires it only across awaits).
  res.cork(() => {
    res.writeStatus(status);
    for (const [k, v] of Object.entries({ ...PAGE_HEADERS, ...headers })) res.writeHeader(k, v);
    res.end(body);
  });
}

/**
 * The operator's status page: static files from server/dist/web, public like any page's code (every number
 * on it comes over the stream with the admin key). `/status` redirects to `/status/` so the page's relative
 * asset URLs (and its relative API URLs, which keep working under a proxy prefix) resolve below it.
 * Every answer carries the page headers (CSP, no framing, nosniff, no referrer); no CORS header anywhere.
 */
export function registerStatusPage(app: TemplatedApp, files: ReadonlyMap<string, PageFile>): void {
  const base = PATHS.status;
  // The server's root: a browser is sent to the page (relative, so a proxy prefix is kept); any other caller
  // gets the usual problem+json, naming where things are.
  app.get('/', (res, req) => {
    if (/\btext\/html\b/i.test(req.getHeader('accept')))
      return answer(res, '303 See Other', { Location: 'status/', 'Cache-Control': 'no-store' }, '');
    const reply = problemReply(
      notFound('nothing at /: the status page is at /status, the API under /v1 (docs/protocol.md)'),
      '/',
    );
    send(res, { aborted: false }, reply);
  });
  app.get(base, (res) =>
    answer(res, '308 Permanent Redirect', { Location: 'status/', 'Cache-Control': 'no-store' }, ''),
  );
  app.get(`${base}/*`, (res, req) => {
    const url = req.getUrl();
    const rel = url.slice(base.length + 1) || 'index.html';
    const file = files.get(rel);
    if (file)
      return answer(
        res,
        '200 OK',
        { 'Content-Type': file.contentType, 'Cache-Control': file.cacheControl },
        file.body,
      );
    const err =
      files.size === 0
        ? unavailable('the status page is not built: run `npm run build` in the repository')
        : notFound(`no file ${url}`);
    const reply = problemReply(err, url);
    send(res, { aborted: false }, { ...reply, headers: { ...PAGE_HEADERS, ...reply.headers } });
  });
}

/**
 * The track-record page (docs/outcomes.md): the same built files, entered at track-record.html. Under
 * `/track-record/` only that page and the shared assets are served; its data comes from /v1/track-record
 * with a read key, which the page keeps in sessionStorage like the status page's admin key.
 */
export function registerTrackRecordPage(app: TemplatedApp, files: ReadonlyMap<string, PageFile>): void {
  const base = PATHS.trackRecordPage;
  app.get(base, (res) =>
    answer(res, '308 Permanent Redirect', { Location: 'track-record/', 'Cache-Control': 'no-store' }, ''),
  );
  app.get(`${base}/*`, (res, req) => {
    const url = req.getUrl();
    const rel = url.slice(base.length + 1) || 'track-record.html';
    const file = rel === 'track-record.html' || rel.startsWith('assets/') ? files.get(rel) : undefined;
    if (file)
      return answer(
        res,
        '200 OK',
        { 'Content-Type': file.contentType, 'Cache-Control': file.cacheControl },
        file.body,
      );
    const err = !files.has('track-record.html')
      ? unavailable('the track-record page is not built: run `npm run build` in the repository')
      : notFound(`no file ${url}`);
    const reply = problemReply(err, url);
    send(res, { aborted: false }, { ...reply, headers: { ...PAGE_HEADERS, ...reply.headers } });
  });
}
