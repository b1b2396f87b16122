import { describe, it, expect } from 'vitest';
import { PRESETS, resolveRunConfig, applySet, parseSetValue, ConfigError, flattenConfig } from '../../../src/main/loop/config';
import { planStages } from '../../../src/main/loop/veripo';

describe('run config', () => {
  it('every preset validates, and baselines differ from veripo only where they should', () => {
    for (const name of Object.keys(PRESETS)) expect(() => resolveRunConfig({ preset: name })).not.toThrow();
    const veripo = resolveRunConfig({ preset: 'veripo' });
    const grpo = resolveRunConfig({ preset: 'grpo' });
    expect(grpo.loop.method).toBe('grpo');
    expect(grpo.grpo.steps).toBe(veripo.grpo.steps);
    expect(grpo.loop.iterations).toBe(veripo.loop.iterations);
    expect(resolveRunConfig({ preset: 'dapo' }).grpo).toMatchObject({ loss_type: 'dapo', epsilon_high: 0.28, dynamic_sampling: true });
    expect(resolveRunConfig({ preset: 'gspo' }).grpo.importance_sampling_level).toBe('sequence');
    expect(resolveRunConfig({ preset: 't-grpo' }).grpo.temporal).toBe(true);
  });

  it('applies --set overrides with TRL names, parsing JSON values', () => {
    const c = resolveRunConfig({
      preset: 'smoke',
      sets: [
        ['grpo.loss_type', parseSetValue('dapo')],
        ['grpo.epsilon_high', parseSetValue('0.28')],
        ['dpo.beta', parseSetValue('0.2')],
        ['loop.iterations', parseSetValue('3')],
        ['grpo.mask_truncated_completions', parseSetValue('true')],
      ],
    });
    expect(c.grpo.loss_type).toBe('dapo');
    expect(c.grpo.epsilon_high).toBe(0.28);
    expect(c.dpo.beta).toBe(0.2);
    expect(c.loop.iterations).toBe(3);
    expect(c.grpo.mask_truncated_completions).toBe(true);
    // untouched keys keep the preset's values
    expect(c.model.preset).toBe('tiny');
  });

  it('names the bad key in errors', () => {
    expect(() => resolveRunConfig({ preset: 'smoke', sets: [['grpo.loss_type', 'ppo']] })).toThrow(/grpo\.loss_type/);
    expect(() => resolveRunConfig({ preset: 'smoke', sets: [['grpo.beta', 'high']] })).toThrow(/grpo\.beta/);
    expect(() => resolveRunConfig({ preset: 'smoke', sets: [['grpo.nonsense', 1]] })).toThrow(/nonsense/);
    expect(() => resolveRunConfig({ preset: 'nope' })).toThrow(ConfigError);
    expect(() => applySet({}, 'a..b', 1)).toThrow(/bad key/);
  });

  it('flattens to dotted keys for the Runs form', () => {
    const flat = flattenConfig(resolveRunConfig({ preset: 'veripo' }) as unknown as Record<string, unknown>);
    expect(flat['grpo.num_generations']).toBe(8);
    expect(flat['dpo.beta']).toBe(0.1);
    expect(flat['loop.discard_solved']).toBe(0.8);
  });
});

describe('stage plan', () => {
  it('smoke runs grpo, verify, dpo, grpo after SFT', () => {
    const plan = planStages(resolveRunConfig({ preset: 'smoke' }), false).map((s) => s.kind);
    expect(plan).toEqual(['sft', 'grpo', 'verify', 'dpo', 'grpo']);
    expect(planStages(resolveRunConfig({ preset: 'smoke' }), true).map((s) => s.kind)).toEqual(['grpo', 'verify', 'dpo', 'grpo']);
  });

  it('continual GRPO runs as many GRPO stages as VerIPO, without verifier or DPO', () => {
    const v = planStages(resolveRunConfig({ preset: 'veripo' }), false);
    const g = planStages(resolveRunConfig({ preset: 'grpo' }), false);
    expect(g.filter((s) => s.kind === 'grpo')).toHaveLength(v.filter((s) => s.kind === 'grpo').length);
    expect(g.some((s) => s.kind === 'dpo' || s.kind === 'verify')).toBe(false);
  });

  it('the curriculum runs text, then image, then video GRPO', () => {
    const plan = planStages(resolveRunConfig({ preset: 'veripo', sets: [['loop.curriculum', true]] }), true).filter((s) => s.kind === 'grpo');
    expect(plan.map((s) => s.modality)).toEqual(['text', 'image', null]);
  });
});
