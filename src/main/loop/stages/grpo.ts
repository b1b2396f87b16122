// GRPO "slow search" over the run's prompt pool, its rollouts stored for the verifier.
import { clonePolicy } from '../../model/checkpoint';
import { disposePolicy, type Policy } from '../../model/policy';
import { wordLogprobs, type Tokenizer } from '../../model/tokenizer';
import type { TrainEvent } from '../../model/worker-protocol';
import * as store from '../../store';
import type { Db } from '../../store';
import { runGrpo, type GrpoRollout } from '../../train/grpo';
import { trainTaskOf } from '../../train/grpo-rollouts';
import { usesReference } from '../../train/config';
import type { HealthGuard } from '../../train/health';
import type { Task } from '../../video';
import type { LoopContext } from './context';

export interface GrpoStageInput {
  stageId: number;
  ordinal: number;
  /** The prompts left after discard_solved. */
  pool: Task[];
  /** This stage's share of loop.max_seconds (or grpo.max_seconds). */
  maxSeconds: number | null;
  /** Metric step the stage's step 1 is stored after. */
  stepBase: number;
  onEvent: (ev: TrainEvent) => void;
  health?: HealthGuard;
}

export async function grpoStage(ctx: LoopContext, policy: Policy, tokenizer: Tokenizer, input: GrpoStageInput): Promise<Record<string, unknown>> {
  const { db, runId, config } = ctx;
  const { pool, stageId, stepBase } = input;
  const reference = usesReference(config.grpo) ? clonePolicy(policy, { trainable: false }) : null;
  try {
    const r = await runGrpo({
      policy,
      reference,
      tokenizer,
      tasks: pool.map((t) => trainTaskOf(t, tokenizer)),
      config: { ...config.grpo, max_seconds: input.maxSeconds },
      seed: config.seed * 1000 + input.ordinal,
      onEvent: input.onEvent,
      shouldStop: ctx.shouldStop,
      onRollouts: (rows) => storeRollouts(db, runId, stageId, stepBase, rows),
      health: input.health,
    });
    return { steps: r.steps, stopped_by: r.stoppedBy, prompts: pool.length, truncation_rate: r.truncation_rate, truncation_rate_start: r.truncation_rate_start, last: r.last };
  } finally {
    if (reference) disposePolicy(reference);
  }
}

/** A GRPO step's rollouts into the store; a T-GRPO twin is told apart by its group key alone (twinPromptId). */
export function storeRollouts(db: Db, runId: number, stageId: number, stepBase: number, rows: GrpoRollout[]): void {
  store.insertRollouts(
    db,
    runId,
    rows.map(({ step, shuffled, tokens, logprobs, ...r }) => ({
      ...r,
      stage_id: stageId,
      step: stepBase + step,
      prompt_id: shuffled ? store.twinPromptId(r.task_id) : r.task_id,
      token_count: tokens.length,
      // Per word, for the Rollouts page's log-prob shading.
      meta: { word_logprobs: wordLogprobs(r.text, logprobs) },
    })),
  );
}
