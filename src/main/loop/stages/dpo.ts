// DPO "fast align" on the pairs the verify stage stored, against a frozen copy of the policy.
import { clonePolicy } from '../../model/checkpoint';
import { disposePolicy, type Policy } from '../../model/policy';
import type { PolicyPrompt } from '../../model/inputs';
import { taskPrompt } from '../../model/prompt';
import type { Tokenizer } from '../../model/tokenizer';
import type { TrainEvent } from '../../model/worker-protocol';
import * as store from '../../store';
import { runDpo, type DpoPair } from '../../train/dpo';
import type { HealthGuard } from '../../train/health';
import { taskFromId } from '../tasks';
import { dpoCompletionCap } from '../config';
import type { LoopContext } from './context';
import type { Pair } from '../../../shared/api';

/**
 * Stored preference pairs -> DPO pairs: each prompt is re-encoded from its benchmark task, so
 * the policy sees the frames and tokens the completions answered. Pairs without a task are skipped.
 */
export function dpoPairsFromStored(stored: readonly Pick<Pair, 'meta' | 'chosen_text' | 'rejected_text'>[], tokenizer: Tokenizer): DpoPair[] {
  const pairs: DpoPair[] = [];
  // The verifier pairs several rollouts of one prompt: its frames are rendered and its text tokenised once.
  const prompts = new Map<string, PolicyPrompt>();
  for (const p of stored) {
    const taskId = (p.meta as { task_id?: string } | null)?.task_id;
    if (!taskId) continue;
    let prompt = prompts.get(taskId);
    if (!prompt) prompts.set(taskId, (prompt = taskPrompt(taskFromId(taskId), tokenizer)));
    pairs.push({ prompt, chosen: p.chosen_text, rejected: p.rejected_text });
  }
  return pairs;
}

export async function dpoStage(
  ctx: LoopContext,
  policy: Policy,
  tokenizer: Tokenizer,
  verifyStageId: number | null,
  ordinal: number,
  onEvent: (ev: TrainEvent) => void,
  health?: HealthGuard,
): Promise<Record<string, unknown>> {
  const { db, runId, config } = ctx;
  const pairs = dpoPairsFromStored(store.pairsForTraining(db, runId, verifyStageId), tokenizer);
  if (pairs.length === 0) {
    ctx.emit({ type: 'log', level: 'warn', message: 'dpo: the verifier found no preference pairs; skipping the update' });
    return { pairs: 0, steps: 0 };
  }
  const reference = clonePolicy(policy, { trainable: false });
  try {
    const r = await runDpo({
      policy,
      reference,
      tokenizer,
      pairs,
      config: { ...config.dpo, max_completion_length: dpoCompletionCap(config) },
      seed: config.seed * 1000 + ordinal,
      onEvent,
      shouldStop: ctx.shouldStop,
      health,
    });
    return { pairs: pairs.length, steps: r.steps, stopped_by: r.stoppedBy, truncation_rate: r.truncation_rate, last: r.last };
  } finally {
    disposePolicy(reference);
  }
}
