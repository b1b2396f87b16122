import { describe, it, expect } from 'vitest';
import { resolveRunConfig, applySet, parseSets, stageRunConfig, ConfigError, configFields } from '../../../src/main/loop/config';
import { RUN_PRESETS } from '../../../src/main/loop/presets';
import { parseOverride } from '../../../src/shared/config-fields';
import { planStages } from '../../../src/main/loop/veripo';
import { createRunFromPreset } from '../../../src/main/loop/launcher';
import { openDb, listRuns } from '../../../src/main/store';

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
    expect(fields.get('model.init_checkpoint')).toMatchObject({ kind: 'string', nullable: true, default: null });
    expect(parseSets(['model.init_checkpoint=/tmp/ckpt'])).toEqual([['model.init_checkpoint', '/tmp/ckpt']]);
    // The form's parser is the CLI's: the same field refuses the same text.
    expect(parseOverride(fields.get('grpo.num_generations')!, '8.5')).toEqual({ error: 'grpo.num_generations: expected an integer, got "8.5"' });
    expect(parseOverride(fields.get('grpo.epsilon_high')!, 'null')).toEqual({ value: null });
  });
});

describe('stage plan', () => {
  it('smoke starts from the shipped tiny checkpoint: grpo, verify, dpo, grpo; from scratch SFT comes first', () => {
    const smoke = resolveRunConfig({ preset: 'smoke' });
    expect(smoke.model.init_checkpoint).toMatch(/resources[/\\]checkpoints[/\\]smoke-tiny$/);
    expect(planStages(smoke, smoke.model.init_checkpoint != null).map((s) => s.kind)).toEqual(['grpo', 'verify', 'dpo', 'grpo']);
    const scratch = resolveRunConfig({ preset: 'smoke', sets: [['model.init_checkpoint', null]] });
    expect(planStages(scratch, scratch.model.init_checkpoint != null).map((s) => s.kind)).toEqual(['sft', 'grpo', 'verify', 'dpo', 'grpo']);
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

describe('config bounds', () => {
  // Each count or size, its limit: the limit passes, one past it is refused naming key and limit.
  const LIMITS: [string, number][] = [
    ['loop.iterations', 1000],
    ['data.train_size', 100_000],
    ['data.val_size', 10_000],
    ['data.test_size', 10_000],
    ['sft.steps', 1_000_000],
    ['sft.batch_size', 1024],
    ['sft.warmup_steps', 1_000_000],
    ['sft.workers', 64],
    ['sft.save_steps', 1_000_000],
    ['grpo.steps', 1_000_000],
    ['grpo.per_step_prompts', 1024],
    ['grpo.num_generations', 256],
    ['grpo.max_completion_length', 4096],
    ['grpo.num_iterations', 64],
    ['grpo.length_target', 4096],
    ['grpo.length_max', 4096],
    ['grpo.per_device_train_batch_size', 1024],
    ['grpo.warmup_steps', 1_000_000],
    ['grpo.dynamic_sampling_max_rounds', 64],
    ['dpo.batch_size', 1024],
    ['dpo.epochs', 10_000],
    ['dpo.steps', 1_000_000],
    ['dpo.max_completion_length', 4096],
    ['health.reward_collapse_steps', 10_000],
  ];
  for (const [key, limit] of LIMITS) {
    it(`${key} is at most ${limit}`, () => {
      expect(() => resolveRunConfig({ preset: 'smoke', sets: [[key, limit]] })).not.toThrow();
      let message = '';
      try {
        resolveRunConfig({ preset: 'smoke', sets: [[key, limit + 1]] });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain(key);
      expect(message).toContain(String(limit));
    });
  }

  it('lists of modalities and difficulties are bounded too', () => {
    expect(() => resolveRunConfig({ preset: 'smoke', sets: [['sft.difficulties', Array(65).fill(1)]] })).toThrow(/sft\.difficulties.*64/);
    expect(() => resolveRunConfig({ preset: 'smoke', sets: [['sft.modalities', Array(65).fill('text')]] })).toThrow(/sft\.modalities.*64/);
  });

  it("loop.iterations=1e9 through the API's startRun overrides is refused before a run is stored", () => {
    const db = openDb(':memory:');
    expect(() => createRunFromPreset(db, { preset: 'smoke', overrides: { 'loop.iterations': 1e9 } })).toThrow(ConfigError);
    expect(() => createRunFromPreset(db, { preset: 'smoke', overrides: { 'loop.iterations': '1e9' } })).toThrow(/loop\.iterations.*1000/);
    expect(listRuns(db)).toEqual([]);
    db.close();
  });

  it('health thresholds are settable with --set and validated', () => {
    expect(resolveRunConfig({ preset: 'smoke', sets: [['health.max_kl', 2]] }).health.max_kl).toBe(2);
    expect(() => resolveRunConfig({ preset: 'smoke', sets: [['health.weight_norm_factor', 0.5]] })).toThrow(/health\.weight_norm_factor/);
  });
});
