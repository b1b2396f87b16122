// The health guard's decisions on hand-made step reports: what trips it, what must not.
import { describe, it, expect } from 'vitest';
import { assessStep, createHealthGuard, initialHealth, healthProblemOf, TrainingDivergedError, DEFAULT_HEALTH_CONFIG, HealthConfigSchema, type StepHealth, type HealthProblem } from '../../../src/main/train/health';
import { NonFiniteLossError } from '../../../src/main/model/optim';

const cfg = DEFAULT_HEALTH_CONFIG;

/** Feeds steps in order; returns the first problem (or null) and the step it came at. */
function run(steps: Omit<StepHealth, 'step'>[], config = cfg, start: number | null = null): HealthProblem | null {
  let state = initialHealth(start);
  for (const [step, obs] of steps.entries()) {
    const r = assessStep(state, { step, ...obs }, config);
    if (r.problem) return r.problem;
    state = r.state;
  }
  return null;
}

describe('assessStep', () => {
  it('passes a healthy SFT stage: falling loss, slowly growing weights', () => {
    const steps = Array.from({ length: 50 }, (_, i) => ({ loss: 6 - i * 0.1, gradNorm: 2, weightNorm: 30 + i * 0.5 }));
    expect(run(steps)).toBeNull();
  });

  it('names a non-finite loss, gradient norm, weight norm or KL', () => {
    expect(run([{ loss: 1 }, { loss: NaN }])).toMatchObject({ check: 'non_finite', metric: 'loss', step: 1 });
    expect(run([{ loss: 1, gradNorm: Infinity }])).toMatchObject({ check: 'non_finite', metric: 'grad_norm', step: 0 });
    // A weight norm past float32's range sums to Infinity: that is divergence, not a pass.
    expect(run([{ loss: 1, weightNorm: 40 }, { loss: 1, weightNorm: Infinity }])).toMatchObject({ check: 'non_finite', metric: 'weight_norm', step: 1 });
    expect(run([{ kl: NaN }])).toMatchObject({ check: 'non_finite', metric: 'kl' });
  });

  it('stops on a weight norm past weight_norm_factor × the stage start, with the limit in the message', () => {
    const p = run([{ loss: 1, weightNorm: 40 }, { loss: 1, weightNorm: 399 }, { loss: 1, weightNorm: 2.1e6 }]);
    expect(p).toMatchObject({ check: 'weight_norm', step: 2, value: 2.1e6, limit: 400 });
    expect(p!.message).toContain('health.weight_norm_factor 10');
    // The start can come from before the first step (measured when the guard is made).
    expect(run([{ loss: 1, weightNorm: 41 }], cfg, 4)).toMatchObject({ check: 'weight_norm', limit: 40 });
  });

  it('stops on a loss explosion relative to the first loss, at least 1 (GRPO losses sit near 0)', () => {
    expect(run([{ loss: 0.01 }, { loss: -0.5 }, { loss: 80 }])).toBeNull();
    expect(run([{ loss: 0.01 }, { loss: -150 }])).toMatchObject({ check: 'loss', limit: 100, value: -150 });
    expect(run([{ loss: 6 }, { loss: 601 }])).toMatchObject({ check: 'loss', limit: 600 });
  });

  it('stops on KL above max_kl', () => {
    expect(run([{ kl: 0.2 }, { kl: 9.9 }])).toBeNull();
    expect(run([{ kl: 0.2 }, { kl: 12 }])).toMatchObject({ check: 'kl', limit: 10, step: 1 });
  });

  it('does not call a policy that gets every rollout right collapsed', () => {
    const perfect = { reward: 1, rewardStd: 0 };
    expect(run([{ reward: 0.5, rewardStd: 0.3 }, { reward: 0.8, rewardStd: 0.2 }, ...Array(10).fill(perfect)])).toBeNull();
    // The same flat steps at 0, below the stage's best, are a collapse.
    expect(run([{ reward: 0.5, rewardStd: 0.3 }, ...Array(10).fill({ reward: 0, rewardStd: 0 })])).toMatchObject({ check: 'reward_collapse', step: 5 });
  });

  it('stops when rewards collapse to a constant after having spread, not when a stage starts flat', () => {
    const flat = { rewardStd: 0 };
    expect(run(Array(20).fill(flat))).toBeNull();
    expect(run([{ rewardStd: 0.3 }, flat, flat, flat, flat])).toBeNull();
    expect(run([{ rewardStd: 0.3 }, flat, flat, flat, flat, flat])).toMatchObject({ check: 'reward_collapse', step: 5 });
    // A spread step in between resets the count.
    expect(run([{ rewardStd: 0.3 }, flat, flat, flat, flat, { rewardStd: 0.1 }, flat, flat, flat, flat])).toBeNull();
    expect(run([{ rewardStd: 0.3 }, ...Array(30).fill(flat)], { ...cfg, reward_collapse_steps: 0 })).toBeNull();
  });

  it('checks nothing a trainer did not report', () => {
    expect(run([{}, {}, {}])).toBeNull();
  });
});

describe('createHealthGuard', () => {
  it('measures the weights at creation and after each step, and throws TrainingDivergedError', () => {
    const norms = [10, 12, 150];
    let calls = 0;
    const guard = createHealthGuard('sft', cfg, () => norms[calls++]!);
    expect(calls).toBe(1);
    guard.check({ step: 0, loss: 5 });
    expect(() => guard.check({ step: 1, loss: 5 })).toThrow(TrainingDivergedError);
    try {
      createHealthGuard('grpo', cfg, () => 1).check({ step: 3, loss: NaN });
    } catch (err) {
      expect((err as Error).message).toMatch(/^grpo: loss is NaN at step 3/);
    }
  });

  it('does nothing when disabled', () => {
    const guard = createHealthGuard('dpo', { ...cfg, enabled: false }, () => {
      throw new Error('not measured when disabled');
    });
    expect(() => guard.check({ step: 0, loss: NaN })).not.toThrow();
  });
});

describe('healthProblemOf', () => {
  it('reads the guard error and the optimizer non-finite error, nothing else', () => {
    const p = healthProblemOf(new NonFiniteLossError('dpo', 4, NaN, 'grad_norm'));
    expect(p).toMatchObject({ stage: 'dpo', problem: { check: 'non_finite', metric: 'grad_norm', step: 4 } });
    expect(healthProblemOf(new Error('disk full'))).toBeNull();
  });

  it('rejects thresholds that could never trip', () => {
    expect(HealthConfigSchema.safeParse({ weight_norm_factor: 1 }).success).toBe(false);
    expect(HealthConfigSchema.safeParse({ loss_factor: 0.5 }).success).toBe(false);
  });
});
