// Experiments, runs, stages, metrics and checkpoints: the record of what was trained and how it went.
import type { Db } from './db';
import { nowIso } from './db';
import { parseJsonColumn, toJsonColumn } from './json';
import type { RunDetail, RunSummary, Stage, ValMetrics, MetricSeries } from '../../shared/api';

export type RunStatusValue = RunSummary['status'];
export type StageKindValue = Stage['kind'];

export function ensureExperiment(db: Db, name: string, description: string | null = null): number {
  const row = db.prepare('SELECT id FROM experiments WHERE name = ?').get(name) as { id: number } | undefined;
  if (row) return row.id;
  return Number(db.prepare('INSERT INTO experiments (name, description, created_at) VALUES (?, ?, ?)').run(name, description, nowIso()).lastInsertRowid);
}

export function listExperiments(db: Db) {
  return db
    .prepare(
      `SELECT e.id, e.name, e.description, e.created_at, COUNT(r.id) AS run_count,
         EXISTS (SELECT 1 FROM experiment_reports x WHERE x.experiment_id = e.id) AS has_report
       FROM experiments e LEFT JOIN runs r ON r.experiment_id = e.id GROUP BY e.id ORDER BY e.id`,
    )
    .all()
    .map((row) => {
      const r = row as { id: number; name: string; description: string | null; created_at: string; run_count: number; has_report: number };
      return { ...r, has_report: r.has_report === 1 };
    });
}

export interface NewRun {
  experiment: string;
  name?: string | null;
  preset?: string | null;
  config: Record<string, unknown>;
  seed: number;
  status?: RunStatusValue;
}

export function createRun(db: Db, run: NewRun): number {
  return db.transaction(() => {
    const experimentId = ensureExperiment(db, run.experiment);
    return Number(
      db
        .prepare(
          `INSERT INTO runs (experiment_id, name, preset, config, seed, status, pid, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        // The creating process starts the run: while it lives a pending run is on its way.
        .run(experimentId, run.name ?? null, run.preset ?? null, JSON.stringify(run.config), run.seed, run.status ?? 'pending', process.pid, nowIso()).lastInsertRowid,
    );
  })();
}

export function markRunStarted(db: Db, runId: number, info: { backend: string; backendReason: string; pid: number }): void {
  db.prepare(
    `UPDATE runs SET status = 'running', backend = ?, backend_reason = ?, pid = ?, error = NULL,
       started_at = COALESCE(started_at, ?), finished_at = NULL WHERE id = ?`,
  ).run(info.backend, info.backendReason, info.pid, nowIso(), runId);
}

export function markRunFinished(db: Db, runId: number, status: Exclude<RunStatusValue, 'pending' | 'running'>, error: string | null = null): void {
  db.transaction(() => {
    db.prepare('UPDATE runs SET status = ?, error = ?, finished_at = ?, pid = NULL WHERE id = ?').run(status, error, nowIso(), runId);
    if (status !== 'finished') {
      db.prepare(`UPDATE stages SET status = 'interrupted', finished_at = ? WHERE run_id = ? AND status = 'running'`).run(nowIso(), runId);
    }
  })();
}

/**
 * A run whose process died (SIGKILL, crash) still says 'running', or 'pending' when it died
 * during start-up. Any such run whose pid is not alive (or that has none) is marked
 * interrupted, its half-done stage too, so it can be resumed.
 */
export function reconcileInterruptedRuns(db: Db, isAlive: (pid: number) => boolean = pidAlive): number {
  const rows = db.prepare(`SELECT id, pid, status FROM runs WHERE status IN ('pending', 'running')`).all() as { id: number; pid: number | null; status: RunStatusValue }[];
  let n = 0;
  for (const row of rows) {
    if (row.pid != null && isAlive(row.pid)) continue;
    const why = row.status === 'pending' ? 'the process that created this run stopped before the run started' : 'the process running this run stopped before it finished';
    markRunFinished(db, row.id, 'interrupted', why);
    n++;
  }
  return n;
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface RunRow {
  id: number;
  experiment_id: number;
  experiment: string;
  name: string | null;
  preset: string | null;
  seed: number;
  backend: string | null;
  backend_reason: string | null;
  status: RunStatusValue;
  config: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  wall_s: number | null;
  final_val: string | null;
  has_curves: number;
}

const RUN_SELECT = `
  SELECT r.*, e.name AS experiment,
    (SELECT SUM(s.wall_s) FROM stages s WHERE s.run_id = r.id) AS wall_s,
    (SELECT s.val FROM stages s WHERE s.run_id = r.id AND s.val IS NOT NULL ORDER BY s.ordinal DESC LIMIT 1) AS final_val,
    EXISTS (SELECT 1 FROM metrics m WHERE m.run_id = r.id) AS has_curves
  FROM runs r JOIN experiments e ON e.id = r.experiment_id`;

function toSummary(row: RunRow): RunSummary {
  return {
    id: row.id,
    experiment_id: row.experiment_id,
    experiment: row.experiment,
    name: row.name,
    preset: row.preset,
    seed: row.seed,
    backend: row.backend,
    status: row.status,
    created_at: row.created_at,
    started_at: row.started_at,
    finished_at: row.finished_at,
    wall_s: row.wall_s,
    final_val: parseJsonColumn<ValMetrics>(row.final_val),
    error: row.error,
    has_curves: row.has_curves === 1,
  };
}

export function listRuns(db: Db, filter: { experiment_id?: number; status?: RunStatusValue } = {}): RunSummary[] {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.experiment_id != null) {
    where.push('r.experiment_id = ?');
    params.push(filter.experiment_id);
  }
  if (filter.status) {
    where.push('r.status = ?');
    params.push(filter.status);
  }
  const sql = `${RUN_SELECT} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY r.id`;
  return (db.prepare(sql).all(...params) as RunRow[]).map(toSummary);
}

export function getRun(db: Db, runId: number): RunDetail | null {
  const row = db.prepare(`${RUN_SELECT} WHERE r.id = ?`).get(runId) as RunRow | undefined;
  if (!row) return null;
  const names = db.prepare('SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name').all(runId) as { name: string }[];
  return {
    ...toSummary(row),
    config: parseJsonColumn(row.config) ?? {},
    backend_reason: row.backend_reason,
    stages: listStages(db, runId),
    metric_names: names.map((n) => n.name),
  };
}

export function runConfig(db: Db, runId: number): Record<string, unknown> | null {
  const row = db.prepare('SELECT config FROM runs WHERE id = ?').get(runId) as { config: string } | undefined;
  return row ? parseJsonColumn(row.config) : null;
}

interface StageRow {
  id: number;
  run_id: number;
  ordinal: number;
  iteration: number;
  kind: StageKindValue;
  status: Stage['status'];
  started_at: string;
  finished_at: string | null;
  wall_s: number | null;
  val: string | null;
  summary: string | null;
}

export function listStages(db: Db, runId: number): Stage[] {
  return (db.prepare('SELECT * FROM stages WHERE run_id = ? ORDER BY ordinal').all(runId) as StageRow[]).map((s) => ({
    ...s,
    val: parseJsonColumn<ValMetrics>(s.val),
    summary: parseJsonColumn(s.summary),
  }));
}

export function startStage(db: Db, runId: number, ordinal: number, iteration: number, kind: StageKindValue): number {
  return db.transaction(() => {
    // A stage that was interrupted earlier is replaced: its partial rows go with it.
    db.prepare(`DELETE FROM stages WHERE run_id = ? AND ordinal = ? AND status != 'finished'`).run(runId, ordinal);
    return Number(
      db
        .prepare(`INSERT INTO stages (run_id, ordinal, iteration, kind, status, started_at) VALUES (?, ?, ?, ?, 'running', ?)`)
        .run(runId, ordinal, iteration, kind, nowIso()).lastInsertRowid,
    );
  })();
}

/**
 * Continue an unfinished stage from an in-stage checkpoint taken at metric step
 * `keepBelowStep`: its row and what it logged before that step stay, what came after (work
 * the checkpoint does not hold) goes. Null when there is no unfinished stage to continue.
 */
export function reopenStage(db: Db, runId: number, ordinal: number, keepBelowStep: number): number | null {
  return db.transaction(() => {
    const row = db.prepare(`SELECT id FROM stages WHERE run_id = ? AND ordinal = ? AND status != 'finished'`).get(runId, ordinal) as { id: number } | undefined;
    if (!row) return null;
    db.prepare(`UPDATE stages SET status = 'running', finished_at = NULL WHERE id = ?`).run(row.id);
    db.prepare('DELETE FROM metrics WHERE stage_id = ? AND step >= ?').run(row.id, keepBelowStep);
    db.prepare('DELETE FROM rollouts WHERE stage_id = ? AND step >= ?').run(row.id, keepBelowStep);
    return row.id;
  })();
}

export function finishStage(
  db: Db,
  stageId: number,
  result: { status: 'finished' | 'failed' | 'interrupted'; wall_s: number; val?: ValMetrics | null; summary?: Record<string, unknown> | null },
): void {
  db.prepare('UPDATE stages SET status = ?, finished_at = ?, wall_s = ?, val = ?, summary = ? WHERE id = ?').run(
    result.status,
    nowIso(),
    result.wall_s,
    toJsonColumn(result.val ?? null),
    toJsonColumn(result.summary ?? null),
    stageId,
  );
}

export interface MetricPoint {
  stage_id: number | null;
  step: number;
  name: string;
  value: number;
  wall_s: number | null;
}

export function insertMetrics(db: Db, runId: number, points: MetricPoint[]): void {
  const stmt = db.prepare('INSERT INTO metrics (run_id, stage_id, step, name, value, wall_s) VALUES (?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (const p of points) {
      if (!Number.isFinite(p.value)) continue;
      stmt.run(runId, p.stage_id, p.step, p.name, p.value, p.wall_s);
    }
  })();
}

/** The last metric step a run has logged (0 before any). */
export function lastMetricStep(db: Db, runId: number): number {
  return (db.prepare('SELECT COALESCE(MAX(step), 0) AS s FROM metrics WHERE run_id = ?').get(runId) as { s: number }).s;
}

/** The step a new stage's metrics start at: steps are global per run, so successive stages' curves line up. */
export function nextMetricStep(db: Db, runId: number): number {
  return (db.prepare('SELECT COALESCE(MAX(step) + 1, 0) AS s FROM metrics WHERE run_id = ?').get(runId) as { s: number }).s;
}

export function getMetrics(db: Db, runIds: number[], names?: string[]): MetricSeries[] {
  const out: MetricSeries[] = [];
  const stmt = db.prepare('SELECT step, value, wall_s, stage_id FROM metrics WHERE run_id = ? AND name = ? ORDER BY step, id');
  for (const runId of runIds) {
    const wanted =
      names ?? (db.prepare('SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name').all(runId) as { name: string }[]).map((r) => r.name);
    for (const name of wanted) {
      out.push({ run_id: runId, name, points: stmt.all(runId, name) as MetricSeries['points'] });
    }
  }
  return out;
}

export function addCheckpoint(db: Db, runId: number, stageId: number | null, path: string): number {
  return Number(db.prepare('INSERT INTO checkpoints (run_id, stage_id, path, created_at) VALUES (?, ?, ?, ?)').run(runId, stageId, path, nowIso()).lastInsertRowid);
}

export function latestCheckpoint(db: Db, runId: number): { id: number; stage_id: number | null; path: string } | null {
  return (
    (db
      .prepare(
        `SELECT c.id, c.stage_id, c.path FROM checkpoints c LEFT JOIN stages s ON s.id = c.stage_id
         WHERE c.run_id = ? AND (s.id IS NULL OR s.status = 'finished') ORDER BY c.id DESC LIMIT 1`,
      )
      .get(runId) as { id: number; stage_id: number | null; path: string } | undefined) ?? null
  );
}
