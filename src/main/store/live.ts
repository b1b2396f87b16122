// A running run as any process sees it: the stop request the running process polls, its latest
// progress and its log. The process that trains writes them; servers and CLIs read them.
import type { Db } from './db';
import { nowIso } from './db';
import { parseJsonColumn } from './json';

export interface RunProgress {
  stage: string;
  iteration: number;
  step: number;
  total: number;
  t: number;
}

export interface RunLogLine {
  id: number;
  t: number;
  level: string;
  message: string;
}

function upsert(db: Db, runId: number, column: 'stop_requested_at' | 'progress', value: string | null): void {
  db.prepare(
    `INSERT INTO run_control (run_id, ${column}, updated_at) VALUES (?, ?, ?)
     ON CONFLICT(run_id) DO UPDATE SET ${column} = excluded.${column}, updated_at = excluded.updated_at`,
  ).run(runId, value, nowIso());
}

export function requestStop(db: Db, runId: number): void {
  upsert(db, runId, 'stop_requested_at', nowIso());
}

/** Called when a run (re)starts: an old request must not stop the resumed run. */
export function clearStopRequest(db: Db, runId: number): void {
  upsert(db, runId, 'stop_requested_at', null);
}

export function stopRequested(db: Db, runId: number): boolean {
  const row = db.prepare('SELECT stop_requested_at FROM run_control WHERE run_id = ?').get(runId) as { stop_requested_at: string | null } | undefined;
  return row?.stop_requested_at != null;
}

export function recordProgress(db: Db, runId: number, progress: RunProgress): void {
  upsert(db, runId, 'progress', JSON.stringify(progress));
}

export function appendRunLog(db: Db, runId: number, line: Omit<RunLogLine, 'id'>): void {
  db.prepare('INSERT INTO run_logs (run_id, t, level, message) VALUES (?, ?, ?, ?)').run(runId, line.t, line.level, line.message);
}

export function runControl(db: Db, runId: number): { progress: RunProgress | null; stop_requested: boolean } {
  const row = db.prepare('SELECT stop_requested_at, progress FROM run_control WHERE run_id = ?').get(runId) as { stop_requested_at: string | null; progress: string | null } | undefined;
  return { progress: parseJsonColumn<RunProgress>(row?.progress ?? null), stop_requested: row?.stop_requested_at != null };
}

/** Log lines after `afterId`; without it, the last `limit` lines. */
export function runLog(db: Db, runId: number, afterId: number | null, limit = 200): RunLogLine[] {
  if (afterId != null) return db.prepare('SELECT id, t, level, message FROM run_logs WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?').all(runId, afterId, limit) as RunLogLine[];
  return (db.prepare('SELECT id, t, level, message FROM run_logs WHERE run_id = ? ORDER BY id DESC LIMIT ?').all(runId, limit) as RunLogLine[]).reverse();
}
