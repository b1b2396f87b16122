// External rollouts into the store as a finished "import" run: every rollout verified with
// a rubric (its judge included when it enables one), verdicts and preference pairs stored,
// all in one transaction (nothing half-written). Pairs name their rollouts by the
// rollouts' positions in the input's records, which skipped records also occupy, so the
// stored ids are looked up by that position, never by the rollout's place in the list.
import type { Db } from '../store';
import * as store from '../store';
import type { ReadRolloutsResult } from './rollouts';
import type { Rubric } from '../verifier/rubric';
import type { JudgeClient } from '../verifier/judge';
import type { Verdict } from '../verifier/types';
import { verifyAll } from '../verifier/verify';
import { buildAllPairs } from '../verifier/pairs';

export interface ImportOptions {
  file: string;
  read: ReadRolloutsResult;
  rubric: Rubric;
  rubricName: string;
  experiment: string;
  name: string;
  judge?: JudgeClient;
}

export async function importRollouts(db: Db, opts: ImportOptions): Promise<{ run_id: number; rollouts: number; skipped: number; pairs: number; verdicts: Verdict[] }> {
  const { rollouts, problems, detected } = opts.read;
  if (rollouts.length === 0) throw new Error(`${opts.file}: no usable rollouts`);
  const verdicts = await verifyAll(rollouts, opts.rubric, { judge: opts.judge });
  const pairs = buildAllPairs(rollouts, verdicts, opts.rubric);

  return db.transaction(() => {
    const runId = store.createRun(db, {
      experiment: opts.experiment,
      name: opts.name,
      preset: 'import',
      config: { source: opts.file, rubric: opts.rubricName, format: detected.format, container: detected.container },
      seed: 0,
      status: 'finished',
    });
    db.prepare('UPDATE runs SET started_at = created_at, finished_at = created_at WHERE id = ?').run(runId);
    const groupIndex = new Map<string, number>();
    const ids = store.insertRollouts(
      db,
      runId,
      rollouts.map((r, i) => {
        const g = groupIndex.get(r.promptId) ?? 0;
        groupIndex.set(r.promptId, g + 1);
        return {
          stage_id: null,
          step: null,
          prompt_id: r.promptId,
          task_id: null,
          group_index: g,
          prompt: r.prompt,
          ground_truth: r.spec.answer,
          text: r.completion,
          token_count: null,
          reward: r.reward ?? null,
          truncated: r.truncated ?? false,
          verdict: verdicts[i] as unknown as Record<string, unknown>,
          meta: {
            source_line: r.line,
            options: r.spec.options ?? undefined,
            answer_type: r.spec.answerType,
            ...(r.video ? { video: r.video } : {}),
            ...(r.system ? { system: r.system } : {}),
          },
        };
      }),
    );
    // a pair's chosen_index / rejected_index is the rollout's `index` (its record position)
    const idByIndex = new Map(rollouts.map((r, i) => [r.index, ids[i]!]));
    const idOf = (index: number | null) => (index == null ? null : (idByIndex.get(index) ?? null));
    store.insertPairs(
      db,
      runId,
      pairs.map((p) => ({
        stage_id: null,
        prompt_id: p.prompt_id,
        prompt: p.prompt,
        chosen_rollout_id: idOf(p.chosen_index),
        rejected_rollout_id: idOf(p.rejected_index),
        chosen_text: p.chosen,
        rejected_text: p.rejected,
        kind: p.kind,
        source: 'auto' as const,
        reasons: p.reasons,
        meta: { ground_truth: p.ground_truth, ...(p.video ? { video: p.video } : {}), ...(p.system ? { system: p.system } : {}) },
      })),
    );
    return { run_id: runId, rollouts: rollouts.length, skipped: problems.length, pairs: pairs.length, verdicts };
  })();
}
