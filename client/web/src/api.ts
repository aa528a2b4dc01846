import {
  ApprovalResponseSchema,
  DASHBOARD_PATHS,
  KillSwitchSchema,
  type ExportQuery,
  LoginResponseSchema,
  SnapshotSchema,
  StorySchema,
  type KillSwitchState,
  type Snapshot,
  type Story,
} from '../../src/dashboard/api.js';

/** The page's REST calls: the token in an Authorization header (never a cookie: CSRF-safe), zod on answers. */

export class Unauthorized extends Error {
  override name = 'Unauthorized';
}

async function call(token: string, path: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetch(path, {
    ...init,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(init.body ? { 'Content-Type': 'application/json' } : {}),
    },
    cache: 'no-store',
    credentials: 'omit',
  });
  if (res.status === 401) throw new Unauthorized('the dashboard refused this token');
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

export async function fetchSnapshot(token: string): Promise<Snapshot> {
  return SnapshotSchema.parse(await call(token, DASHBOARD_PATHS.snapshot));
}

export async function setKillSwitch(token: string, on: boolean, reason?: string): Promise<KillSwitchState> {
  const body = JSON.stringify({ on, confirm: true, ...(reason ? { reason } : {}) });
  const r = (await call(token, DASHBOARD_PATHS.killSwitch, { method: 'POST', body })) as {
    kill_switch: unknown;
  };
  return KillSwitchSchema.parse(r.kill_switch);
}

export async function login(password: string): Promise<string> {
  const res = await fetch(DASHBOARD_PATHS.login, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ password }),
    credentials: 'omit',
  });
  if (!res.ok)
    throw new Error(res.status === 404 ? 'this dashboard has no password login' : 'wrong password');
  return LoginResponseSchema.parse(await res.json()).token;
}

export async function fetchStory(token: string, epoch: string, seq: number): Promise<Story> {
  const q = new URLSearchParams({ epoch, seq: String(seq) });
  return StorySchema.parse(await call(token, `${DASHBOARD_PATHS.story}?${q}`));
}

/** Approve or reject a waiting entry: 'done', or 'too_late' (answered, expired or decided already). */
export async function answerApproval(
  token: string,
  epoch: string,
  seq: number,
  action: 'approve' | 'reject',
): Promise<string> {
  const res = await fetch(DASHBOARD_PATHS.approval, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ epoch, seq, action }),
    cache: 'no-store',
    credentials: 'omit',
  });
  if (res.status === 401) throw new Unauthorized('the dashboard refused this token');
  if (!res.ok && res.status !== 409) throw new Error(`approval: HTTP ${res.status}`);
  return ApprovalResponseSchema.parse(await res.json()).result;
}

/** A CSV export (the same file `catalyst-client export` writes), or the server's reason it refused. */
export async function downloadExport(
  token: string,
  query: ExportQuery,
): Promise<{ blob: Blob; filename: string }> {
  const q = new URLSearchParams(query);
  const res = await fetch(`${DASHBOARD_PATHS.export}?${q}`, {
    headers: { Authorization: `Bearer ${token}` },
    cache: 'no-store',
    credentials: 'omit',
  });
  if (res.status === 401) throw new Unauthorized('the dashboard refused this token');
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { message?: unknown };
    throw new Error(typeof body.message === 'string' ? body.message : `export: HTTP ${res.status}`);
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') ?? '')?.[1];
  return { blob: await res.blob(), filename: name ?? `catalyst-${query.kind}.csv` };
}
