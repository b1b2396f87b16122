// Rollouts: every sampled (or imported) completion with its rewards and the verifier's verdict.
import type { Db } from './db';
import { parseJsonColumn, toJsonColumn } from './json';
import type { Rollout } from '../../shared/api';

/**
 * A T-GRPO twin group (the same prompt, frames shuffled) is stored under its prompt's id with
 * this suffix: the group key (step, prompt_id) then tells the twin apart from the ordered group.
 */
export const SHUFFLED_TWIN_SUFFIX = '#shuffled';

export function twinPromptId(taskId: string): string {
  return `${taskId}${SHUFFLED_TWIN_SUFFIX}`;
}

export function isShuffledTwin(promptId: string): boolean {
  return promptId.endsWith(SHUFFLED_TWIN_SUFFIX);
}

export interface NewRollout {
  stage_id: number | null;
  step: number | null;
  prompt_id: string;
  task_id?: string | null;
  group_index: number;
  prompt: string;
  ground_truth?: string | null;
  text: string;
  token_count?: number | null;
  reward?: number | null;
  reward_parts?: Record<string, number> | null;
  advantage?: number | null;
  truncated?: boolean;
  verdict?: Record<string, unknown> | null;
  meta?: Record<string, unknown> | null;
}

export function insertRollouts(db: Db, runId: number, rows: NewRollout[]): number[] {
  const stmt = db.prepare(
    `INSERT INTO rollouts (run_id, stage_id, step, prompt_id, task_id, group_index, prompt, ground_truth, text,
       token_count, reward, reward_parts, advantage, truncated, verdict, meta)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  return db.transaction(() =>
    rows.map((r) =>
      Number(
        stmt.run(
          runId,
          r.stage_id,
          r.step,
          r.prompt_id,
          r.task_id ?? null,
          r.group_index,
          r.prompt,
          r.ground_truth ?? null,
          r.text,
          r.token_count ?? null,
          finiteOrNull(r.reward),
          toJsonColumn(r.reward_parts ?? null),
          finiteOrNull(r.advantage),
          r.truncated ? 1 : 0,
          toJsonColumn(r.verdict ?? null),
          toJsonColumn(r.meta ?? null),
        ).lastInsertRowid,
      ),
    ),
  )();
}

function finiteOrNull(v: number | null | undefined): number | null {
  return v != null && Number.isFinite(v) ? v : null;
}

export function setVerdicts(db: Db, verdicts: { rollout_id: number; verdict: Record<string, unknown> }[]): void {
  const stmt = db.prepare('UPDATE rollouts SET verdict = ? WHERE id = ?');
  db.transaction(() => {
    for (const v of verdicts) stmt.run(JSON.stringify(v.verdict), v.rollout_id);
  })();
}

interface RolloutRow extends Omit<Rollout, 'truncated' | 'reward_parts' | 'verdict' | 'meta'> {
  truncated: number;
  reward_parts: string | null;
  verdict: string | null;
  meta: string | null;
}

export function toRollout(row: RolloutRow): Rollout {
  return {
    ...row,
    truncated: row.truncated === 1,
    reward_parts: parseJsonColumn(row.reward_parts),
    verdict: parseJsonColumn(row.verdict),
    meta: parseJsonColumn(row.meta),
  };
}

export interface RolloutQuery {
  run_id: number;
  stage_id?: number;
  step?: number;
  /** one prompt's group (the group view shows all of it whatever the filter) */
  prompt_id?: string;
  correct?: boolean;
  consistent?: boolean;
  repetitive?: boolean;
  reflective?: boolean;
  in_pair?: 'chosen' | 'rejected';
  offset: number;
  limit: number;
}

export function queryRollouts(db: Db, q: RolloutQuery): { total: number; rollouts: Rollout[] } {
  const where = ['r.run_id = ?'];
  const params: unknown[] = [q.run_id];
  if (q.stage_id != null) {
    where.push('r.stage_id = ?');
    params.push(q.stage_id);
  }
  if (q.step != null) {
    where.push('r.step = ?');
    params.push(q.step);
  }
  if (q.prompt_id != null) {
    where.push('r.prompt_id = ?');
    params.push(q.prompt_id);
  }
  for (const key of ['correct', 'consistent', 'repetitive', 'reflective'] as const) {
    const want = q[key];
    if (want == null) continue;
    where.push(`COALESCE(json_extract(r.verdict, '$.${key}'), 0) = ?`);
    params.push(want ? 1 : 0);
  }
  if (q.in_pair) {
    const col = q.in_pair === 'chosen' ? 'chosen_rollout_id' : 'rejected_rollout_id';
    where.push(`EXISTS (SELECT 1 FROM pairs p WHERE p.${col} = r.id)`);
  }
  const clause = where.join(' AND ');
  const total = (db.prepare(`SELECT COUNT(*) AS n FROM rollouts r WHERE ${clause}`).get(...params) as { n: number }).n;
  const rows = db
    .prepare(`SELECT r.* FROM rollouts r WHERE ${clause} ORDER BY r.stage_id, r.step, r.prompt_id, r.group_index, r.id LIMIT ? OFFSET ?`)
    .all(...params, q.limit, q.offset) as RolloutRow[];
  return { total, rollouts: rows.map(toRollout) };
}

export function getRollouts(db: Db, ids: number[]): Rollout[] {
  if (ids.length === 0) return [];
  const rows = db.prepare(`SELECT * FROM rollouts WHERE id IN (${ids.map(() => '?').join(',')})`).all(...ids) as RolloutRow[];
  return rows.map(toRollout);
}

export function rolloutsForStage(db: Db, stageId: number): Rollout[] {
  return (db.prepare('SELECT * FROM rollouts WHERE stage_id = ? ORDER BY id').all(stageId) as RolloutRow[]).map(toRollout);
}

export function sampleRollouts(db: Db, runId: number | undefined, n: number): Rollout[] {
  // Evenly spaced over the table rather than random, so a dry run is repeatable.
  const where = runId != null ? 'WHERE run_id = ?' : '';
  const params = runId != null ? [runId] : [];
  const total = (db.prepare(`SELECT COUNT(*) AS n FROM rollouts ${where}`).get(...params) as { n: number }).n;
  if (total === 0) return [];
  const stride = Math.max(1, Math.floor(total / n));
  const rows = db
    .prepare(`SELECT * FROM (SELECT *, ROW_NUMBER() OVER (ORDER BY id) - 1 AS rn FROM rollouts ${where}) WHERE rn % ? = 0 LIMIT ?`)
    .all(...params, stride, n) as RolloutRow[];
  return rows.map(toRollout);
}

export function rolloutSteps(db: Db, runId: number) {
  return db
    .prepare(
      `SELECT r.stage_id, s.kind, s.iteration, r.step, COUNT(*) AS count FROM rollouts r
       LEFT JOIN stages s ON s.id = r.stage_id WHERE r.run_id = ?
       GROUP BY r.stage_id, r.step ORDER BY s.ordinal, r.step`,
    )
    .all(runId) as { stage_id: number | null; kind: string | null; iteration: number | null; step: number | null; count: number }[];
}

/** Where a rollout sits in its run's unfiltered listing (stage, step, prompt, group index): deep links open it there. */
export function locateRollout(db: Db, rolloutId: number): { run_id: number; index: number } | null {
  const r = db.prepare('SELECT run_id, stage_id, step, prompt_id, group_index, id FROM rollouts WHERE id = ?').get(rolloutId) as
    | { run_id: number; stage_id: number | null; step: number | null; prompt_id: string; group_index: number; id: number }
    | undefined;
  if (!r) return null;
  // SQLite sorts NULL first; ids and steps are never negative, so -1 stands in for NULL in the comparison.
  const { n } = db
    .prepare(
      `SELECT COUNT(*) AS n FROM rollouts WHERE run_id = ?
         AND (COALESCE(stage_id, -1), COALESCE(step, -1), prompt_id, group_index, id) < (?, ?, ?, ?, ?)`,
    )
    .get(r.run_id, r.stage_id ?? -1, r.step ?? -1, r.prompt_id, r.group_index, r.id) as { n: number };
  return { run_id: r.run_id, index: n };
}
