// What the comparison axes need to know about a run's layout (src/shared/axes.ts): each
// stage's step range and training seconds, and how many GRPO prompts each step sampled.
import type { Db } from './db';
import { parseJsonColumn } from './json';
import type { RunAxes, StageKindName } from '../../shared/axes';

export function runAxes(db: Db, runId: number): RunAxes {
  const stages = db
    .prepare(
      `SELECT s.id, s.kind, s.ordinal, s.wall_s, s.status, s.summary,
         (SELECT MIN(m.step) FROM metrics m WHERE m.run_id = s.run_id AND m.stage_id = s.id) AS first_step,
         (SELECT MAX(m.step) FROM metrics m WHERE m.run_id = s.run_id AND m.stage_id = s.id) AS last_step
       FROM stages s WHERE s.run_id = ? ORDER BY s.ordinal`,
    )
    .all(runId) as { id: number; kind: StageKindName; ordinal: number; wall_s: number | null; status: string; summary: string | null; first_step: number | null; last_step: number | null }[];
  // A T-GRPO shuffled-frames group answers the same prompt again: not a new prompt seen.
  const prompts = db
    .prepare(`SELECT step, COUNT(DISTINCT prompt_id) AS n FROM rollouts WHERE run_id = ? AND step IS NOT NULL AND prompt_id NOT LIKE '%#shuffled' GROUP BY step ORDER BY step`)
    .all(runId) as { step: number; n: number }[];
  return {
    run_id: runId,
    stages: stages.map((s) => {
      const train = parseJsonColumn<{ train_s?: number }>(s.summary)?.train_s;
      return {
        id: s.id,
        kind: s.kind,
        ordinal: s.ordinal,
        first_step: s.first_step,
        last_step: s.last_step,
        train_s: s.status === 'running' ? null : (train ?? s.wall_s),
      };
    }),
    prompts,
  };
}
