// External rollouts into the store as a finished "import" run: every line verified with a
// rubric, verdicts and preference pairs stored, all in one transaction (nothing half-written).
import type { Db } from '../store';
import * as store from '../store';
import { readRollouts } from './rollouts';
import type { LineProblem, OnError } from './jsonl';
import { loadRubric } from '../verifier/presets';
import { verifyAll } from '../verifier/verify';
import { buildAllPairs } from '../verifier/pairs';

export async function importRollouts(
  db: Db,
  opts: { file: string; rubric: string; experiment: string; name: string; onError: OnError; onProblem?: (p: LineProblem) => void },
): Promise<{ run_id: number; rollouts: number; skipped: number; pairs: number }> {
  const { rollouts, problems } = await readRollouts(opts.file, { onError: opts.onError, onProblem: opts.onProblem });
  if (rollouts.length === 0) throw new Error(`${opts.file}: no usable rollouts`);
  const rubric = await loadRubric(opts.rubric);
  rubric.checks.judge.enabled = false;
  const verdicts = await verifyAll(rollouts, rubric);
  const pairs = buildAllPairs(rollouts, verdicts, rubric);

  return db.transaction(() => {
    const runId = store.createRun(db, {
      experiment: opts.experiment,
      name: opts.name,
      preset: 'import',
      config: { source: opts.file, rubric: opts.rubric },
      seed: 0,
      status: 'finished',
    });
    db.prepare('UPDATE runs SET started_at = created_at, finished_at = created_at WHERE id = ?').run(runId);
    const ids = store.insertRollouts(
      db,
      runId,
      rollouts.map((r, i) => ({
        stage_id: null,
        step: null,
        prompt_id: r.promptId,
        task_id: null,
        group_index: rollouts.slice(0, i).filter((x) => x.promptId === r.promptId).length,
        prompt: r.prompt,
        ground_truth: r.spec.answer,
        text: r.completion,
        token_count: null,
        reward: r.reward ?? null,
        truncated: r.truncated ?? false,
        verdict: verdicts[i] as unknown as Record<string, unknown>,
        meta: { source_line: r.line, options: r.spec.options ?? undefined, answer_type: r.spec.answerType, ...(r.video ? { video: r.video } : {}) },
      })),
    );
    store.insertPairs(
      db,
      runId,
      pairs.map((p) => ({
        stage_id: null,
        prompt_id: p.prompt_id,
        prompt: p.prompt,
        chosen_rollout_id: p.chosen_index != null ? ids[p.chosen_index]! : null,
        rejected_rollout_id: p.rejected_index != null ? ids[p.rejected_index]! : null,
        chosen_text: p.chosen,
        rejected_text: p.rejected,
        kind: p.kind,
        source: 'auto' as const,
        reasons: p.reasons,
        meta: { ground_truth: p.ground_truth, ...(p.video ? { video: p.video } : {}) },
      })),
    );
    return { run_id: runId, rollouts: rollouts.length, skipped: problems.length, pairs: pairs.length };
  })();
}
