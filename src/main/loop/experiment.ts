// `veripo experiment`: methods × seeds from one shared cold-start checkpoint, every run at the
// same RL wall-clock budget (loop.max_seconds counts GRPO, verify and DPO alike), runs side by
// side in worker threads so every method trains under the same load, then greedy and sampled
// test evaluation inside each run (loop.final_test, loop.test_samples).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent } from '../../shared/events';
import { openDb } from '../store';
import * as store from '../store';
import { ConfigError, parseSets, resolveRunConfig, type RunConfig } from './config';
import { coldStartCheckpoint, sftCacheKey } from './cold-start';
import { startRunWorker, storeRun, type RunHandle } from './launcher';
import { RUN_PRESETS } from './presets';

export interface ExperimentSpec {
  name: string;
  /** Run presets (veripo, grpo, dapo, …). */
  methods: string[];
  seeds: number[];
  /** RL seconds per run. */
  budget_s: number;
  /** Start every run from this checkpoint instead of the cached cold-start SFT. */
  from: string | null;
  /** `--set key=value` items, applied to every run. */
  sets: string[];
  test_size: number;
  /** Samples per test task for pass@1 (0 = greedy only). */
  samples: number;
  /** Runs at once (one per core). */
  parallel: number;
}

export interface ExperimentRun {
  run_id: number;
  method: string;
  seed: number;
  status: string;
  error: string | null;
}

export interface ColdStart {
  checkpoint: string;
  /** null with --from (no SFT); otherwise whether the cache had it. */
  cached: boolean | null;
  sft_steps: number | null;
  sft_seconds: number | null;
}

/** Keys the experiment sets itself: a --set of one of these would silently break the comparison. */
const CONTROLLED: Record<string, string> = {
  seed: '--seeds',
  experiment: '--name',
  'loop.max_seconds': '--budget',
  'loop.final_test': 'the experiment (always on)',
  'loop.test_samples': '--samples',
  'data.test_size': '--test-size',
  'model.init_checkpoint': '--from',
};

/** Every run's config, validated before anything trains; throws ConfigError naming the key. */
export function experimentConfigs(spec: ExperimentSpec, checkpoint: string | null): { method: string; seed: number; config: RunConfig }[] {
  if (!spec.methods.length) throw new ConfigError('--methods needs at least one run preset');
  if (!spec.seeds.length) throw new ConfigError('--seeds needs at least one seed');
  for (const m of spec.methods) if (!RUN_PRESETS[m]) throw new ConfigError(`--methods: unknown preset "${m}" (known: ${Object.keys(RUN_PRESETS).join(', ')})`);
  if (new Set(spec.methods).size !== spec.methods.length) throw new ConfigError(`--methods lists a preset twice: ${spec.methods.join(',')}`);
  const sets = parseSets(spec.sets);
  for (const [key] of sets) if (CONTROLLED[key]) throw new ConfigError(`--set ${key}: the experiment sets it; use ${CONTROLLED[key]}`);
  const forced: [string, unknown][] = [
    ['experiment', spec.name],
    ['loop.max_seconds', spec.budget_s],
    ['loop.final_test', true],
    ['loop.test_samples', spec.samples],
    ['data.test_size', spec.test_size],
    ...(checkpoint ? [['model.init_checkpoint', checkpoint] as [string, unknown]] : []),
  ];
  const out = [];
  for (const seed of spec.seeds) {
    for (const method of spec.methods) {
      out.push({ method, seed, config: resolveRunConfig({ preset: method, sets: [...sets, ...forced, ['seed', seed]], source: `--methods ${method} --seeds ${seed}` }) });
    }
  }
  return out;
}

/** The config the shared cold start trains: the first method's, seed 0 unless the methods agree otherwise. */
function coldStartConfig(spec: ExperimentSpec): RunConfig {
  const configs = spec.methods.map((m) => resolveRunConfig({ preset: m, sets: parseSets(spec.sets), source: `--methods ${m}` }));
  const keys = new Set(configs.map(sftCacheKey));
  if (keys.size > 1) throw new ConfigError(`--methods ${spec.methods.join(',')} train different cold starts (their model.* or sft.* differ): one shared SFT needs them equal, or pass --from CKPT`);
  return configs[0]!;
}

export interface ExperimentHooks {
  /** One line of progress (the CLI writes it to stderr). */
  log: (line: string) => void;
  /** The runs were created: from here on Ctrl-C stops them. */
  onStarted?: (stop: () => void) => void;
}

/** Train the cold start (or reuse it), then every method × seed; returns the runs and the cold start. */
export async function runExperiment(dbPath: string, cacheRoot: string, spec: ExperimentSpec, hooks: ExperimentHooks): Promise<{ experiment_id: number; runs: ExperimentRun[]; cold_start: ColdStart }> {
  // Fail on a bad --set before spending minutes on SFT.
  experimentConfigs(spec, spec.from);
  let coldStart: ColdStart;
  if (spec.from) {
    if (!existsSync(join(spec.from, 'model.json'))) throw new ConfigError(`--from ${spec.from}: no model.json there (a checkpoint folder holds model.json and its weights)`);
    coldStart = { checkpoint: spec.from, cached: null, sft_steps: null, sft_seconds: null };
  } else {
    const config = coldStartConfig(spec);
    hooks.log(`cold start: ${config.model.preset} policy, ${config.sft.steps} SFT steps (cache ${cacheRoot})`);
    const every = throttle();
    const r = await coldStartCheckpoint(config, cacheRoot, {
      onEvent: (ev) => {
        if (ev.type === 'progress' && every(ev.step, ev.total)) hooks.log(`cold start: sft ${ev.step}/${ev.total}`);
      },
    });
    hooks.log(r.cached ? `cold start: reused ${r.dir}` : `cold start: trained in ${r.seconds.toFixed(0)} s → ${r.dir}`);
    coldStart = { checkpoint: r.dir, cached: r.cached, sft_steps: r.steps, sft_seconds: r.cached ? null : r.seconds };
  }

  const planned = experimentConfigs(spec, coldStart.checkpoint);
  const db = openDb(dbPath);
  let experimentId: number;
  let runs: (ExperimentRun & { config: RunConfig })[];
  try {
    store.reconcileInterruptedRuns(db);
    runs = planned.map((p) => ({ ...p, run_id: storeRun(db, { preset: p.method, name: `${p.method} seed ${p.seed}` }, p.config), status: 'pending', error: null }));
    experimentId = store.ensureExperiment(db, spec.name);
  } finally {
    db.close();
  }
  hooks.log(`experiment "${spec.name}": runs ${runs.map((r) => `#${r.run_id} ${r.method}/s${r.seed}`).join(', ')}; ${spec.budget_s} s of RL each, ${spec.parallel} at a time`);

  const active = new Set<RunHandle>();
  let stopping = false;
  hooks.onStarted?.(() => {
    stopping = true;
    for (const h of active) h.stop();
  });
  // Seed-major order: the methods of one seed train side by side, under the same load.
  let next = 0;
  const worker = async () => {
    while (next < runs.length && !stopping) {
      const run = runs[next++]!;
      const label = `[${run.method} s${run.seed} #${run.run_id}]`;
      const handle = startRunWorker({ runId: run.run_id, dbPath, onEvent: runEventLines(label, hooks.log) });
      active.add(handle);
      const out = await handle.done;
      active.delete(handle);
      run.status = out.status;
      run.error = out.error;
      hooks.log(`${label} ${out.status}${out.error ? `: ${out.error}` : ''}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, spec.parallel) }, worker));
  return { experiment_id: experimentId, runs: runs.map(({ config: _config, ...r }) => r), cold_start: coldStart };
}

/** True about every 10 % of a stage (and at its end): progress lines a log can hold. */
function throttle(): (step: number, total: number) => boolean {
  let lastDecile = -1;
  let lastTotal = -1;
  return (step, total) => {
    if (total !== lastTotal) {
      lastTotal = total;
      lastDecile = -1;
    }
    const decile = total > 0 ? Math.floor((10 * step) / total) : 10;
    if (decile === lastDecile) return false;
    lastDecile = decile;
    return true;
  };
}

/** A run's events as progress lines, prefixed with the run's label. */
function runEventLines(label: string, log: (line: string) => void): (e: RunEvent) => void {
  const every = throttle();
  return (e) => {
    if (e.type === 'progress' && every(e.step, e.total)) log(`${label} ${e.stage} it${e.iteration} ${e.step}/${e.total}`);
    else if (e.type === 'stage_finished') {
      const v = e.val as { accuracy?: number; mean_length?: number } | null;
      log(`${label} ${e.stage} it${e.iteration} done in ${e.wall_s.toFixed(1)} s${v ? `: val accuracy ${v.accuracy?.toFixed(3)}, mean length ${v.mean_length?.toFixed(1)}` : ''}`);
    } else if (e.type === 'log' && (e.level !== 'debug')) log(`${label} ${e.level}: ${e.message}`);
  };
}
