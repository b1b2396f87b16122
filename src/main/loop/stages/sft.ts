// Cold-start SFT on gold chains, reusing a finished SFT of the same model, config, seed and data
// from the per-user cache (../cold-start).
import { join } from 'node:path';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { copyWeights, loadCheckpoint, saveCheckpoint } from '../../model/checkpoint';
import { disposePolicy, type Policy } from '../../model/policy';
import type { Tokenizer } from '../../model/tokenizer';
import type { TrainEvent } from '../../model/worker-protocol';
import { runSft, type SftProgress } from '../../train/sft';
import type { HealthGuard } from '../../train/health';
import { clearStageProgress, saveStageProgress, type StageProgress } from '../stage-checkpoint';
import { sftCachePath } from '../cold-start';
import type { LoopContext } from './context';

export interface SftStageInput {
  onEvent: (ev: TrainEvent) => void;
  health?: HealthGuard;
  /** Where in-stage checkpoints go (../stage-checkpoint), and which stage this is. */
  runDir: string;
  ordinal: number;
  /** Metric step of the stage's step 0. */
  stepBase: number;
  /** An in-stage checkpoint to continue from. */
  resume: (StageProgress & { dir: string }) | null;
  /** Writes buffered metrics: a checkpoint's steps must be in the database before it counts. */
  flushMetrics: () => void;
}

export async function sftStage(ctx: LoopContext, policy: Policy, tokenizer: Tokenizer, input: SftStageInput): Promise<Record<string, unknown>> {
  const { config } = ctx;
  const log = (message: string) => ctx.emit({ type: 'log', level: 'info', message });
  const cacheDir = sftCachePath(ctx.cacheDir, config);
  if (!input.resume && config.sft.cache && existsSync(join(cacheDir, 'model.json'))) {
    const cached = loadCheckpoint(cacheDir).policy;
    copyWeights(cached, policy);
    disposePolicy(cached);
    log(`sft: reused the cached cold-start checkpoint ${cacheDir}`);
    return { cached: cacheDir };
  }
  const { cache: _cache, save_steps: saveSteps, ...sft } = config.sft;
  if (input.resume) {
    const saved = loadCheckpoint(input.resume.dir).policy;
    copyWeights(saved, policy);
    disposePolicy(saved);
    log(`sft: resuming at step ${input.resume.step} of ${sft.steps} from ${input.resume.dir}`);
  }
  const save = (progress: SftProgress) => {
    input.flushMetrics();
    saveStageProgress(input.runDir, input.ordinal, 'sft', policy, tokenizer, { ...progress, stepBase: input.stepBase });
  };
  const r = await runSft(policy, tokenizer, { ...sft, seed: config.seed }, {
    onEvent: input.onEvent,
    shouldStop: ctx.shouldStop,
    health: input.health,
    resume: input.resume ?? undefined,
    checkpoints: saveSteps > 0 ? { every: saveSteps, save } : undefined,
  });
  const summary = { steps: r.steps, resumed_from: r.resumed_from, steps_run: r.losses.length, final_loss: r.losses.at(-1) ?? null, response_tokens: r.response_tokens };
  // Stopped with its progress saved: the stage is not done, resume continues it.
  if (r.stopped && saveSteps > 0) return { ...summary, interrupted: true };
  clearStageProgress(input.runDir, input.ordinal, 'sft');
  if (config.sft.cache && !r.stopped) {
    const tmp = `${cacheDir}.tmp-${process.pid}`;
    saveCheckpoint(tmp, policy, tokenizer, { sft: sft });
    rmSync(cacheDir, { recursive: true, force: true });
    cpSync(tmp, cacheDir, { recursive: true });
    rmSync(tmp, { recursive: true, force: true });
  }
  return summary;
}
