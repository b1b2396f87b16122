// The Rollout-Aware Verifier over one GRPO stage's stored rollouts: verdicts, preference
// pairs, and the solved prompts the next GRPO stage drops.
import * as store from '../../store';
import { scoreGrounding, type Task } from '../../video';
import { discardSolved } from '../../verifier/discard';
import { buildAllPairs } from '../../verifier/pairs';
import { summarise } from '../../verifier/summary';
import { verifyAll } from '../../verifier/verify';
import { taskFromId, toVerifierRollout } from '../tasks';
import { resolveRubricRef, loadRubricRef } from '../rubric-ref';
import type { LoopContext } from './context';

/** The Rollout-Aware Verifier over one GRPO stage's rollouts: verdicts, pairs, solved prompts. */
export async function verifyStage(ctx: LoopContext, stageId: number, grpoStageId: number, rand: () => number): Promise<Record<string, unknown>> {
  const { db, runId, config } = ctx;
  const rubric = await loadRubricRef(resolveRubricRef(db, config.verifier.rubric));
  if (!config.verifier.judge) rubric.checks.judge.enabled = false;
  const rows = store.rolloutsForStage(db, grpoStageId).filter((r) => !store.isShuffledTwin(r.prompt_id));
  const tasks = new Map<string, Task>();
  const taskOf = (id: string | null) => {
    if (!id) return null;
    if (!tasks.has(id)) tasks.set(id, taskFromId(id));
    return tasks.get(id)!;
  };
  const inputs = rows.map((r, index) => toVerifierRollout(r, index, taskOf));
  const verdicts = await verifyAll(inputs, rubric, {
    grounding: (text, rollout) => {
      const task = taskOf(rows[rollout.index]!.task_id);
      if (!task || task.modality === 'image') return null;
      const g = scoreGrounding(text, task.facts);
      return { total: g.total, grounded: g.grounded, rate: g.rate, ungrounded: g.ungrounded.map((c) => c.span) };
    },
    onProgress: (n) => ctx.emit({ type: 'progress', stage: 'verify', iteration: 0, step: n, total: inputs.length }),
  });
  store.setVerdicts(db, verdicts.map((v, i) => ({ rollout_id: rows[i]!.id, verdict: v as unknown as Record<string, unknown> })));

  const pairs = buildAllPairs(inputs, verdicts, rubric);
  store.insertPairs(
    db,
    runId,
    pairs.map((p) => {
      const chosen = p.chosen_index != null ? rows[p.chosen_index] : undefined;
      const rejected = p.rejected_index != null ? rows[p.rejected_index] : undefined;
      const anyRow = chosen ?? rejected ?? rows.find((r) => `${r.step}:${r.prompt_id}` === p.prompt_id)!;
      return {
        stage_id: stageId,
        prompt_id: anyRow.prompt_id,
        prompt: p.prompt,
        chosen_rollout_id: chosen?.id ?? null,
        rejected_rollout_id: rejected?.id ?? null,
        chosen_text: p.chosen,
        rejected_text: p.rejected,
        kind: p.kind,
        source: 'auto' as const,
        reasons: p.reasons,
        meta: { task_id: anyRow.task_id, ground_truth: anyRow.ground_truth },
      };
    }),
  );

  // Group accuracy per prompt over the whole stage: prompts every rollout solved.
  const byTask = new Map<string, { n: number; correct: number }>();
  verdicts.forEach((v, i) => {
    const id = rows[i]!.task_id ?? rows[i]!.prompt_id;
    const acc = byTask.get(id) ?? { n: 0, correct: 0 };
    acc.n++;
    if (v.correct) acc.correct++;
    byTask.set(id, acc);
  });
  const ids = [...byTask.keys()];
  const { dropped } = discardSolved(ids, (id) => byTask.get(id)!.correct / byTask.get(id)!.n, config.loop.discard_solved, rand);
  const summary = { ...summarise(verdicts, pairs, 0), dropped };
  ctx.emit({ type: 'log', level: 'info', message: `verify: ${verdicts.length} rollouts, ${pairs.length} pairs, ${dropped.length} solved prompts dropped` });
  return summary;
}
