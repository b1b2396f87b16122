// SFT's in-stage checkpoints resume exactly where they left off, and the health guard
// stops a diverging SFT after its first update.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../../src/main/model/backend';
import { createPolicy, disposePolicy } from '../../../src/main/model/policy';
import { presetConfig } from '../../../src/main/model/config';
import { BENCHMARK_FRAME, benchmarkTokenizer } from '../../../src/main/model/prompt';
import { loadCheckpoint } from '../../../src/main/model/checkpoint';
import { weightNorm } from '../../../src/main/model/optim';
import { DEFAULT_SFT_CONFIG } from '../../../src/main/train/config';
import { runSft, type SftProgress } from '../../../src/main/train/sft';
import { createHealthGuard, DEFAULT_HEALTH_CONFIG, TrainingDivergedError } from '../../../src/main/train/health';
import { saveStageProgress, latestStageProgress, clearStageProgress } from '../../../src/main/loop/stage-checkpoint';

beforeAll(async () => {
  await initBackend();
});

const tokenizer = benchmarkTokenizer();
const config = presetConfig('tiny', { vocab_size: tokenizer.size, ...BENCHMARK_FRAME });
const sft = { ...DEFAULT_SFT_CONFIG, steps: 8, batch_size: 2, warmup_steps: 2, modalities: ['text' as const], difficulties: [1], workers: 1 };

const weightsOf = (p: ReturnType<typeof createPolicy>) => new Map([...p.params].map(([k, v]) => [k, Array.from(v.dataSync())]));

describe('sft in-stage checkpoints', () => {
  it('a stage killed during step 5 and resumed from its step-4 checkpoint ends with the weights of an uninterrupted stage', async () => {
    const straight = createPolicy(config, 5);
    await runSft(straight, tokenizer, sft);

    const runDir = mkdtempSync(join(tmpdir(), 'veripo-sft-resume-'));
    const first = createPolicy(config, 5);
    const saved: number[] = [];
    // The kill: the process dies during step 5 (an error out of the step here); step 4's checkpoint is the last.
    const killed = await runSft(first, tokenizer, sft, {
      checkpoints: { every: 2, save: (p: SftProgress) => (saved.push(p.step), saveStageProgress(runDir, 0, 'sft', first, tokenizer, { ...p, stepBase: 7 })) },
      onEvent: (ev) => {
        if (ev.type === 'progress' && ev.step === 5) throw new Error('killed');
      },
    }).catch((e: Error) => e.message);
    expect(killed).toBe('killed');
    expect(saved).toEqual([2, 4]);
    disposePolicy(first);

    const progress = latestStageProgress(runDir, 0, 'sft')!;
    expect(progress.step).toBe(4);
    expect(progress.stepBase).toBe(7);
    const resumed = loadCheckpoint(progress.dir).policy;
    const metricSteps: number[] = [];
    const r2 = await runSft(resumed, tokenizer, sft, {
      resume: progress,
      onEvent: (ev) => {
        if (ev.type === 'metric' && ev.name === 'loss') metricSteps.push(ev.step);
      },
    });
    expect(r2.resumed_from).toBe(4);
    expect(r2.steps).toBe(8);
    expect(r2.losses).toHaveLength(4);
    expect(metricSteps).toEqual([4, 5, 6, 7]);
    // Same batches, same learning rates, same Adam moments: the same weights to the bit.
    expect(weightsOf(resumed)).toEqual(weightsOf(straight));
    clearStageProgress(runDir, 0, 'sft');
    expect(latestStageProgress(runDir, 0, 'sft')).toBeNull();
  });

  it('a stop between saves saves the steps since the last one', async () => {
    const policy = createPolicy(config, 6);
    const saved: number[] = [];
    let steps = 0;
    const r = await runSft(policy, tokenizer, { ...sft, steps: 6 }, {
      checkpoints: { every: 2, save: (p) => saved.push(p.step) },
      onEvent: (ev) => {
        if (ev.type === 'progress') steps = ev.step;
      },
      shouldStop: () => steps >= 3,
    });
    expect(r).toMatchObject({ stopped: true, steps: 3 });
    expect(saved).toEqual([2, 3]);
    disposePolicy(policy);
  });
});

describe('sft health guard', () => {
  it('stops SFT at learning rate 1e6 after the first update, naming the weight norm', async () => {
    const policy = createPolicy(config, 9);
    const start = weightNorm(policy);
    const health = createHealthGuard('sft', DEFAULT_HEALTH_CONFIG, () => weightNorm(policy));
    const err = await runSft(policy, tokenizer, { ...sft, learning_rate: 1e6 }, { health }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect((err as TrainingDivergedError).problem).toMatchObject({ step: 0 });
    expect(['weight_norm', 'non_finite']).toContain((err as TrainingDivergedError).problem.check);
    expect(weightNorm(policy)).toBeGreaterThan(10 * start);
  });

  it('lets a healthy SFT run through', async () => {
    const policy = createPolicy(config, 9);
    const health = createHealthGuard('sft', DEFAULT_HEALTH_CONFIG, () => weightNorm(policy));
    const r = await runSft(policy, tokenizer, sft, { health });
    expect(r.steps).toBe(8);
  });
});
