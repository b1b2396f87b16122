// `veripo experiment`: the comparison math of its report, the settings it refuses, and a short
// real experiment through the CLI (two methods side by side from one cached cold start).
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, listExperiments, latestExperimentReport, listRuns } from '../../../src/main/store';
import { compareToBaseline, timeToReach, type CurvePoint, type RunFacts } from '../../../src/main/loop/experiment-report';
import { experimentConfigs, type ExperimentSpec } from '../../../src/main/loop/experiment';
import { parseBudget } from '../../../src/main/cli/experiment';
import { ConfigError } from '../../../src/main/loop/config';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'veripo.js');

const point = (rl_s: number, accuracy: number): CurvePoint => ({ rl_s, accuracy, mean_length: 10, grounding_rate: 1, inconsistency_rate: 0, kind: 'grpo' });

function facts(method: string, seed: number, perTask: number[]): RunFacts {
  const acc = perTask.reduce((a, b) => a + b, 0) / perTask.length;
  const stats = { per_task: perTask, accuracy: acc, mean_length: 10, inconsistency_rate: 0, grounding_rate: 1, format_rate: 1, by_family: {} };
  return {
    run_id: seed * 10 + method.length, method, seed, status: 'finished', error: null, backend: 'cpu', rl_s: 60, curve: [], pairs: [], dpo: [],
    test: { task_ids: perTask.map((_, i) => `t${i}`), families: perTask.map(() => 'f'), greedy: stats, sampled: null },
  };
}

const spec = (over: Partial<ExperimentSpec> = {}): ExperimentSpec => ({ name: 'x', methods: ['veripo', 'grpo'], seeds: [0], budget_s: 60, from: null, sets: [], test_size: 100, samples: 2, parallel: 2, ...over });

describe('experiment report math', () => {
  it('pairs methods task by task, averaging seeds first', () => {
    // Seed means: grpo [0, 0.5, 1, 0], veripo [1, 0.5, 1, 0] → differences [1, 0, 0, 0].
    const all = [facts('grpo', 0, [0, 1, 1, 0]), facts('grpo', 1, [0, 0, 1, 0]), facts('veripo', 0, [1, 1, 1, 0]), facts('veripo', 1, [1, 0, 1, 0])];
    const [c] = compareToBaseline(all, ['veripo', 'grpo'], 'grpo');
    expect(c!.method).toBe('veripo');
    expect(c!.greedy!.delta).toBeCloseTo(0.25);
    // sd of [1, 0, 0, 0] is 0.5 → se 0.25
    expect(c!.greedy!.se).toBeCloseTo(0.25);
    expect(c!.greedy!.improved).toBe(1);
    expect(c!.sampled).toBeNull();
  });

  it('gives no difference when the task lists do not line up', () => {
    const [c] = compareToBaseline([facts('grpo', 0, [0, 1]), facts('veripo', 0, [1, 1, 0])], ['veripo', 'grpo'], 'grpo');
    expect(c!.greedy).toBeNull();
  });

  it('times the first stage that reaches a target', () => {
    const curve = [point(10, 0.2), point(30, 0.5), point(60, 0.4)];
    expect(timeToReach(curve, 0.5)).toBe(30);
    expect(timeToReach(curve, 0.19)).toBe(10);
    expect(timeToReach(curve, 0.6)).toBeNull();
  });

  it('reads budgets as seconds, minutes or hours', () => {
    expect(parseBudget('60s')).toBe(60);
    expect(parseBudget('20m')).toBe(1200);
    expect(parseBudget('1.5h')).toBe(5400);
    expect(parseBudget('45')).toBe(45);
    expect(() => parseBudget('soon')).toThrow(/--budget/);
    expect(() => parseBudget('0m')).toThrow(/positive/);
  });
});

describe('experiment configs', () => {
  it('gives every run the same budget, test split and start, and its own seed', () => {
    const configs = experimentConfigs(spec({ seeds: [0, 3] }), '/ckpt');
    expect(configs.map((c) => `${c.method}/${c.seed}`)).toEqual(['veripo/0', 'grpo/0', 'veripo/3', 'grpo/3']);
    for (const { config, seed } of configs) {
      expect(config.seed).toBe(seed);
      expect(config.loop.max_seconds).toBe(60);
      expect(config.loop.final_test).toBe(true);
      expect(config.loop.test_samples).toBe(2);
      expect(config.data.test_size).toBe(100);
      expect(config.model.init_checkpoint).toBe('/ckpt');
    }
    expect(configs.map((c) => c.config.loop.method)).toEqual(['veripo', 'grpo', 'veripo', 'grpo']);
  });

  it('refuses a --set of a key the experiment controls, and unknown presets', () => {
    expect(() => experimentConfigs(spec({ sets: ['loop.max_seconds=5'] }), null)).toThrow(/--set loop.max_seconds: the experiment sets it; use --budget/);
    expect(() => experimentConfigs(spec({ sets: ['seed=4'] }), null)).toThrow(ConfigError);
    expect(() => experimentConfigs(spec({ methods: ['veripo', 'ppo'] }), null)).toThrow(/unknown preset "ppo"/);
    expect(() => experimentConfigs(spec({ sets: ['grpo.nope=1'] }), null)).toThrow(/unknown key "grpo.nope"/);
  });
});

// Small enough to finish in about a minute on two cores, real enough to exercise every stage.
const SMALL = [
  '--set', 'model.preset=tiny', '--set', 'sft.steps=30', '--set', 'sft.batch_size=4',
  '--set', 'grpo.per_step_prompts=2', '--set', 'grpo.num_generations=4', '--set', 'grpo.max_completion_length=24',
  '--set', 'data.val_size=8', '--set', 'data.train_size=16',
  '--methods', 'veripo,grpo', '--seeds', '0', '--budget', '4s', '--test-size', '12', '--samples', '2',
];

describe('veripo experiment (CLI)', () => {
  it('runs both methods from one cold start, reports on test, and reuses the cold start from another database', () => {
    const dir = mkdtempSync(join(tmpdir(), 'veripo-experiment-'));
    const env = { ...process.env, VERIPO_HOME: join(dir, 'home'), XDG_CACHE_HOME: join(dir, 'cache'), VERIPO_CACHE: '' };
    const db = join(dir, 'a.db');
    const r = spawnSync(process.execPath, [BIN, 'experiment', ...SMALL, '--name', 'unit', '--db', db, '--json'], { env, encoding: 'utf8', timeout: 400_000 });
    expect(r.stderr).toContain('cold start: trained');
    expect(r.status, r.stderr).toBe(0);
    // Progress reaches stderr even with --json; stdout holds only the JSON document.
    expect(r.stderr).toMatch(/\[veripo s0 #\d+\] grpo it0 done/);
    expect(r.stderr).toMatch(/\[grpo s0 #\d+\] test/);
    const out = JSON.parse(r.stdout.trim());
    expect(out.runs.map((x: { method: string; status: string }) => `${x.method}:${x.status}`)).toEqual(['veripo:finished', 'grpo:finished']);
    expect(existsSync(join(out.cold_start.checkpoint, 'model.json'))).toBe(true);
    expect(out.cold_start.checkpoint.startsWith(join(dir, 'cache', 'veripo'))).toBe(true);

    const h = openDb(db);
    const exp = listExperiments(h).find((e) => e.name === 'unit')!;
    expect(exp.has_report).toBe(true);
    const runs = listRuns(h, { experiment_id: exp.id });
    expect(runs).toHaveLength(2);
    const report = latestExperimentReport(h, exp.id)!;
    h.close();
    expect(report.markdown).toContain('## Against grpo, paired over test tasks');
    expect(report.markdown).toContain('## Preference pairs by kind, per verify stage');
    expect(report.markdown).toMatch(/Test: 12 tasks of the test split, greedy, and pass@1 over 2 samples/);
    expect(report.figures.map((f) => f.name)).toEqual(['val-accuracy.svg', 'val-mean-length.svg', 'val-grounding.svg', 'val-inconsistency.svg']);
    expect(report.figures[0]!.svg).toMatch(/^<svg/);
    expect(readFileSync(join(out.report_dir, 'report.md'), 'utf8')).toContain(report.markdown);
    expect(existsSync(join(out.report_dir, 'val-accuracy.svg'))).toBe(true);
    // Each run spent its RL budget (a stage in progress finishes: some overshoot), not far more.
    for (const run of out.summary.runs as { rl_s: number }[]) {
      expect(run.rl_s).toBeGreaterThan(2);
      expect(run.rl_s).toBeLessThan(60);
    }

    // Another database, another VERIPO_HOME: the same cold start comes from the per-user cache.
    const again = spawnSync(process.execPath, [BIN, 'experiment', ...SMALL, '--methods', 'grpo', '--name', 'again', '--db', join(dir, 'b.db'), '--json'], { env: { ...env, VERIPO_HOME: join(dir, 'home2') }, encoding: 'utf8', timeout: 400_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(`cold start: reused ${out.cold_start.checkpoint}`);
  }, 900_000);
});
