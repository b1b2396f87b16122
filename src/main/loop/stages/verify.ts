// The Rollout-Aware Verifier over one GRPO stage's stored rollouts: verdicts, preference
// pairs, and the solved prompts the next GRPO stage drops.
import * as store from '../../store';
import { discardSolved } from '../../verifier/discard';
import { buildAllPairs } from '../../verifier/pairs';
import { summarise, summaryMetrics } from '../../verifier/summary';
import { verifyAll } from '../../verifier/verify';
import { benchmarkGrounding, cachedTaskOf, toVerifierRollout } from '../tasks';
import { resolveRubricRef, loadRubricRef } from '../rubric-ref';
import type { LoopContext } from './context';

/** The Rollout-Aware Verifier over one GRPO stage's rollouts: verdicts, pairs, solved prompts. */
export async function verifyStage(ctx: LoopContext, stageId: number, grpoStageId: number, rand: () => number): Promise<Record<string, unknown>> {
  const { db, runId, config } = ctx;
  const rubric = await loadRubricRef(resolveRubricRef(db, config.verifier.rubric));
  if (!config.verifier.judge) rubric.checks.judge.enabled = false;
  const rows = store.rolloutsForStage(db, grpoStageId).filter((r) => !store.isShuffledTwin(r.prompt_id));
  const taskOf = cachedTaskOf();
  const inputs = rows.map((r, index) => toVerifierRollout(r, index, taskOf));
  const verdicts = await verifyAll(inputs, rubric, {
    grounding: benchmarkGrounding((i) => taskOf(rows[i]!.task_id)),
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
  const counts = summarise(verdicts, pairs, 0);
  const summary = { ...counts, dropped };
  // One point per verify stage, so pairs by kind sit on the run's curves next to GRPO and DPO.
  const step = store.nextMetricStep(db, runId);
  const metrics = Object.entries(summaryMetrics(counts)).map(([name, value]) => ({ stage_id: stageId, step, name: `verify/${name}`, value, wall_s: null }));
  store.insertMetrics(db, runId, metrics);
  for (const m of metrics) ctx.emit({ type: 'metric', stage: 'verify', step, name: m.name, value: m.value });
  const p = counts.pairs;
  ctx.emit({
    type: 'log',
    level: 'info',
    message: `verify: ${verdicts.length} rollouts, ${p.total} pairs (${p.hard_negative} hard-negative, ${p.reflective} reflective, ${p.reflective_constructed} constructed, ${p.standard} standard), ${dropped.length} solved prompts dropped`,
  });
  return summary;
}
