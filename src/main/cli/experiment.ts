// `veripo experiment`: methods × seeds at an equal RL budget from one cold start, evaluated on
// the test split; writes a Markdown + SVG report next to the database and into it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { CliCommand } from './command';
import { CliError } from './command';
import { formatTable, parseCliArgs, parseIntFlag, printJson, resolveDbPath, SET_FLAG, DB_FLAG, JSON_FLAG } from './common';
import { openDb, databaseError, saveExperimentReport } from '../store';
import { ConfigError } from '../loop/config';
import { sharedCacheDir } from '../loop/cold-start';
import { dataDirFor } from '../loop/launcher';
import { runExperiment, type ExperimentSpec } from '../loop/experiment';
import { buildReport, collectRunFacts } from '../loop/experiment-report';

/**
 * 1000 test tasks: the paired difference of two methods' per-task accuracies (−1, 0 or 1 per
 * task when greedy) has a variance at most the share of tasks they disagree on; up to 40 %
 * disagreement keeps its standard error ≤ √(0.4/1000) = 0.02.
 */
const DEFAULT_TEST_SIZE = 1000;
const DEFAULT_SAMPLES = 4;

const usage = `veripo experiment [--methods veripo,grpo,…] [--seeds 0,1,2] [--budget 20m] [--from CKPT] [--set key=value]…
                  [--name NAME] [--out DIR] [--test-size ${DEFAULT_TEST_SIZE}] [--samples ${DEFAULT_SAMPLES}] [--parallel 2] [--db FILE] [--json]
  methods are run presets (veripo, grpo, dapo, dr_grpo, gspo, t-grpo); --budget is RL wall-clock per run
  (GRPO, verifier and DPO alike): 90s, 20m, 1h or seconds. Without --from, one cold-start SFT shared by every
  run, cached in $XDG_CACHE_HOME/veripo (~/.cache/veripo; VERIPO_CACHE overrides). The report goes to
  --out (default: NAME-report next to the database) and into the database (Experiments page).`;

/** "90s", "20m", "1.5h" or plain seconds → seconds. */
export function parseBudget(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/.exec(text);
  if (!m) throw new CliError(`--budget takes seconds or a duration such as 90s, 20m, 1h; got "${text}"`, 2);
  const seconds = Number(m[1]) * ({ s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 's' | 'm' | 'h']);
  if (!(seconds > 0)) throw new CliError(`--budget must be positive, got "${text}"`, 2);
  return seconds;
}

function parseSeeds(text: string): number[] {
  const seeds = text.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!seeds.length || seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new CliError(`--seeds takes non-negative integers separated by commas, got "${text}"`, 2);
  if (new Set(seeds).size !== seeds.length) throw new CliError(`--seeds lists a seed twice: "${text}"`, 2);
  return seeds;
}

const quote = (a: string) => (/^[\w./:=,@+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

export const command: CliCommand = {
  name: 'experiment',
  summary: 'methods × seeds at an equal RL budget from one cold start, on test; writes a report',
  usage,
  async run(argv) {
    const { values } = parseCliArgs(
      argv,
      {
        methods: { type: 'string', default: 'veripo,grpo' },
        seeds: { type: 'string', default: '0,1,2' },
        budget: { type: 'string', default: '20m' },
        from: { type: 'string' },
        ...SET_FLAG,
        name: { type: 'string' },
        out: { type: 'string' },
        'test-size': { type: 'string' },
        samples: { type: 'string' },
        parallel: { type: 'string' },
        ...DB_FLAG,
        ...JSON_FLAG,
      },
      { usage },
    );
    const dbPath = resolve(resolveDbPath(values.db));
    const name = values.name?.trim() || `experiment-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;
    const spec: ExperimentSpec = {
      name,
      methods: values.methods.split(',').map((m) => m.trim()).filter(Boolean),
      seeds: parseSeeds(values.seeds),
      budget_s: parseBudget(values.budget),
      from: values.from ? resolve(values.from) : null,
      sets: values.set,
      test_size: parseIntFlag('test-size', values['test-size'], DEFAULT_TEST_SIZE),
      samples: parseIntFlag('samples', values.samples, DEFAULT_SAMPLES),
      parallel: parseIntFlag('parallel', values.parallel, 2),
    };
    if (spec.test_size < 1) throw new CliError(`--test-size must be at least 1, got ${spec.test_size}`, 2);
    if (spec.samples < 0) throw new CliError(`--samples must be 0 or more, got ${spec.samples}`, 2);
    if (spec.parallel < 1) throw new CliError(`--parallel must be at least 1, got ${spec.parallel}`, 2);
    const outDir = resolve(values.out ?? join(dirname(dbPath), `${name}-report`));
    const commandLine = ['veripo', 'experiment', ...argv].map(quote).join(' ');
    const log = (line: string) => process.stderr.write(`${line}\n`);

    let stop: (() => void) | null = null;
    let stopped = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopped) process.exit(signal === 'SIGINT' ? 130 : 143);
      stopped = true;
      log(`\n${signal}: stopping the runs after their current step (a second signal kills)…`);
      stop?.();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let result;
    try {
      result = await runExperiment(dbPath, sharedCacheDir(), spec, { log, onStarted: (s) => (stop = s) });
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(err.message, 2);
      throw databaseError(err, dbPath);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }

    const db = openDb(dbPath);
    let report;
    try {
      const facts = collectRunFacts(db, dataDirFor(dbPath), result.runs);
      report = buildReport(spec, result.cold_start, facts, commandLine);
      saveExperimentReport(db, result.experiment_id, { command: commandLine, markdown: report.markdown, figures: report.figures, summary: report.summary });
    } finally {
      db.close();
    }
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'report.md'), report.markdown + '\n');
    for (const f of report.figures) writeFileSync(join(outDir, f.name), f.svg);
    log(`report: ${join(outDir, 'report.md')} (and in ${dbPath}, experiment "${name}")`);

    if (values.json) printJson({ experiment: name, experiment_id: result.experiment_id, report_dir: outDir, cold_start: result.cold_start, runs: result.runs, summary: report.summary });
    else {
      const runs = report.summary.runs as { run_id: number; method: string; seed: number; status: string; rl_s: number; test: { greedy: { accuracy: number; mean_length: number }; sampled: { accuracy: number } | null } | null }[];
      process.stdout.write(
        formatTable(
          ['run', 'method', 'seed', 'status', 'RL s', 'test greedy', 'pass@1', 'mean len'],
          runs.map((r) => [r.run_id, r.method, r.seed, r.status, Math.round(r.rl_s), r.test?.greedy.accuracy ?? null, r.test?.sampled?.accuracy ?? null, r.test?.greedy.mean_length ?? null]),
        ) + `\nreport: ${join(outDir, 'report.md')}\n`,
      );
    }
    if (stopped) return 130;
    return result.runs.every((r) => r.status === 'finished') ? 0 : 1;
  },
};
