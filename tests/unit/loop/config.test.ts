import { describe, it, expect } from 'vitest';
import { resolveRunConfig, applySet, parseSets, stageRunConfig, ConfigError, configFields } from '../../../src/main/loop/config';
import { RUN_PRESETS } from '../../../src/main/loop/presets';
import { parseOverride } from '../../../src/shared/config-fields';
import { planStages } from '../../../src/main/loop/veripo';

describe('run config', () => {
  it('every preset validates, and baselines differ from veripo only where they should', () => {
    for (const name of Object.keys(RUN_PRESETS)) expect(() => resolveRunConfig({ preset: name })).not.toThrow();
    const veripo = resolveRunConfig({ preset: 'veripo' });
    const grpo = resolveRunConfig({ preset: 'grpo' });
    expect(grpo.loop.method).toBe('grpo');
    expect(grpo.grpo.steps).toBe(veripo.grpo.steps);
    expect(grpo.loop.iterations).toBe(veripo.loop.iterations);
    expect(resolveRunConfig({ preset: 'dapo' }).grpo).toMatchObject({ loss_type: 'dapo', epsilon_high: 0.28, dynamic_sampling: true });
    expect(resolveRunConfig({ preset: 'gspo' }).grpo.importance_sampling_level).toBe('sequence');
    expect(resolveRunConfig({ preset: 't-grpo' }).grpo.temporal).toBe(true);
  });

  it('applies --set overrides with TRL names, each parsed by its key\'s kind', () => {
    const c = resolveRunConfig({
      preset: 'smoke',
      sets: parseSets(['grpo.loss_type=dapo', 'grpo.epsilon_high=0.28', 'dpo.beta=0.2', 'loop.iterations=3', 'grpo.mask_truncated_completions=true', 'sft.modalities=["video","text"]', 'grpo.max_seconds=null']),
    });
    expect(c.sft.modalities).toEqual(['video', 'text']);
    expect(c.grpo.max_seconds).toBeNull();
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

  it('refuses a fraction for an integer key, a word for a number, an unknown key and a bad pair, naming the key', () => {
    expect(() => parseSets(['grpo.num_generations=2.5'])).toThrow(/grpo\.num_generations: expected an integer, got "2\.5"/);
    expect(() => parseSets(['grpo.learning_rate=fast'])).toThrow(/grpo\.learning_rate: expected a number/);
    expect(() => parseSets(['grpo.loss_type=ppo'])).toThrow(/grpo\.loss_type: expected one of grpo, bnpo, dr_grpo, dapo/);
    expect(() => parseSets(['grpo.nonsense=1'])).toThrow(/unknown key "grpo\.nonsense"/);
    expect(() => parseSets(['grpo.beta'])).toThrow(/key=value/);
    // A config file's unknown key (an old name) is an error naming it too.
    expect(() => resolveRunConfig({ file: { grpo: { warmup: 3 } } })).toThrow(/unknown key "grpo\.warmup"/);
  });

  it('single-stage commands take the run\'s keys, only of the sections they read', () => {
    expect(stageRunConfig('grpo', ['grpo.beta=0'], ['grpo']).grpo.beta).toBe(0);
    expect(() => stageRunConfig('grpo', ['dpo.beta=0.2'], ['grpo'])).toThrow(/--set dpo\.beta: veripo grpo reads grpo\.\*/);
  });

  it('gives the Runs form every key with its kind from the schema and the preset\'s value', () => {
    const fields = new Map(configFields(resolveRunConfig({ preset: 'veripo' })).map((f) => [f.key, f]));
    expect(fields.get('grpo.num_generations')).toMatchObject({ kind: 'integer', default: 8, nullable: false });
    expect(fields.get('dpo.beta')).toMatchObject({ kind: 'number', default: 0.1 });
    expect(fields.get('grpo.loss_type')).toMatchObject({ kind: 'enum', options: ['grpo', 'bnpo', 'dr_grpo', 'dapo'] });
    expect(fields.get('grpo.epsilon_high')).toMatchObject({ kind: 'number', nullable: true, default: null });
    expect(fields.get('loop.final_test')).toMatchObject({ kind: 'boolean', default: false });
    expect(fields.get('sft.modalities')).toMatchObject({ kind: 'json' });
    // The form's parser is the CLI's: the same field refuses the same text.
    expect(parseOverride(fields.get('grpo.num_generations')!, '8.5')).toEqual({ error: 'grpo.num_generations: expected an integer, got "8.5"' });
    expect(parseOverride(fields.get('grpo.epsilon_high')!, 'null')).toEqual({ value: null });
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
