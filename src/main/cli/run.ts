// `veripo run`: the VerIPO loop (or a baseline preset) headless, into the database.
import { readFileSync } from 'node:fs';
import type { CliCommand } from './command';
import { CliError } from './command';
import { resolveDbPath, printJson, formatTable, parseCliArgs, parseSetFlags, SET_FLAG, DB_FLAG, JSON_FLAG } from './common';
import { progressBar, formatSeconds, type ProgressBar } from './progress';
import { openDb, getRun, reconcileInterruptedRuns, databaseError } from '../store';
import { createRunFromPreset, startRunWorker } from '../loop/launcher';
import { ConfigError } from '../loop/config';
import { DEFAULT_PRESET, RUN_PRESETS } from '../loop/presets';
import type { RunEvent } from '../../shared/events';

export const command: CliCommand = {
  name: 'run',
  summary: 'run the VerIPO loop (or a baseline preset) on the embedded benchmark',
  usage:
    'veripo run [--preset ' +
    Object.keys(RUN_PRESETS).join('|') +
    `] [--config FILE] [--set key=value]… [--db FILE] [--json]\n       veripo run --resume RUN_ID [--db FILE] [--json]\n(default preset: ${DEFAULT_PRESET}; keys are namespaced by stage: grpo.loss_type, dpo.beta, loop.iterations, …)`,
  async run(argv) {
    const { values } = parseCliArgs(
      argv,
      {
        preset: { type: 'string' },
        config: { type: 'string' },
        ...SET_FLAG,
        ...DB_FLAG,
        ...JSON_FLAG,
        resume: { type: 'string' },
        name: { type: 'string' },
        experiment: { type: 'string' },
      },
      { usage: command.usage },
    );
    const dbPath = resolveDbPath(values.db);
    const db = openDb(dbPath);
    let runId: number;
    try {
      // Runs whose process died (even during start-up) show as interrupted from here on.
      reconcileInterruptedRuns(db);
      if (values.resume) {
        runId = Number(values.resume);
        if (!Number.isInteger(runId)) throw new CliError(`--resume takes a run id, got "${values.resume}"`, 2);
        const run = getRun(db, runId);
        if (!run) throw new CliError(`run ${runId} does not exist in ${dbPath}`);
        if (run.status === 'finished') throw new CliError(`run ${runId} already finished`);
        if (run.status === 'running') throw new CliError(`run ${runId} is still running in another process; stop it (Ctrl-C there, or Stop in the app) first`);
      } else {
        const overrides = Object.fromEntries(parseSetFlags(values.set));
        const file = values.config ? readConfigFile(values.config) : undefined;
        try {
          runId = createRunFromPreset(db, { preset: values.preset ?? DEFAULT_PRESET, overrides, file, experiment: values.experiment, name: values.name }).runId;
        } catch (err) {
          if (err instanceof ConfigError) throw new CliError(values.config ? `${values.config}: ${err.message}` : err.message, 2);
          throw err;
        }
      }
    } catch (err) {
      throw databaseError(err, dbPath);
    } finally {
      db.close();
    }

    // Progress goes to stderr with --json too: stdout carries only the JSON document.
    process.stderr.write(`run ${runId} → ${dbPath}\n`);
    let bar: ProgressBar | null = null;
    let barKey = '';
    const onEvent = (e: RunEvent) => {
      if (e.type === 'progress') {
        const key = `${e.stage}/${e.iteration}`;
        if (key !== barKey) {
          bar?.finish();
          bar = progressBar(`${e.stage.padEnd(10)} it${e.iteration}`, e.total);
          barKey = key;
        }
        bar?.update(e.step);
      } else if (e.type === 'stage_finished') {
        bar?.finish();
        bar = null;
        barKey = '';
        const v = e.val as { accuracy?: number; mean_length?: number; inconsistency_rate?: number } | null;
        process.stderr.write(
          `${e.stage} (iteration ${e.iteration}) done in ${formatSeconds(e.wall_s)}` +
            (v ? `: val accuracy ${v.accuracy?.toFixed(3)}, mean length ${v.mean_length?.toFixed(1)}, inconsistency ${v.inconsistency_rate?.toFixed(3)}` : '') +
            '\n',
        );
      } else if (e.type === 'log' && (e.level === 'warn' || e.level === 'error')) {
        process.stderr.write(`${e.level}: ${e.message}\n`);
      }
    };
    const handle = startRunWorker({ runId, dbPath, onEvent });
    // SIGTERM (a scheduler, `kill`, a container stopping) stops as Ctrl-C does: after the
    // current step, the run recorded as stopped and resumable. A second signal kills.
    let stoppedBy: NodeJS.Signals | null = null;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stoppedBy) process.exit(SIGNAL_EXIT[signal] ?? 1);
      stoppedBy = signal;
      process.stderr.write(`\n${signal}: stopping after the current step (a second Ctrl-C or SIGTERM kills)…\n`);
      handle.stop();
    };
    for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
    const outcome = await handle.done;
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);

    const db2 = openDb(dbPath);
    try {
      const run = getRun(db2, runId)!;
      const stages = run.stages.map((s) => ({
        kind: s.kind,
        iteration: s.iteration,
        status: s.status,
        wall_s: s.wall_s,
        val: s.val ? { accuracy: s.val.accuracy, mean_length: s.val.mean_length, inconsistency_rate: s.val.inconsistency_rate } : null,
      }));
      if (values.json) printJson({ run_id: runId, status: run.status, backend: run.backend, error: run.error, stages });
      else {
        process.stdout.write(
          formatTable(
            ['stage', 'kind', 'iter', 'status', 'wall', 'val acc', 'mean len', 'inconsistency'],
            stages.map((s, i) => [i, s.kind, s.iteration, s.status, s.wall_s != null ? formatSeconds(s.wall_s) : null, s.val?.accuracy ?? null, s.val?.mean_length ?? null, s.val?.inconsistency_rate ?? null]),
          ) + '\n',
        );
        process.stdout.write(`run ${runId}: ${run.status}${run.error ? ` (${run.error})` : ''}\n`);
      }
      if (run.status === 'diverged') return EXIT_DIVERGED;
      if (outcome.status === 'failed' || run.status === 'failed') return 1;
      return stoppedBy ? (SIGNAL_EXIT[stoppedBy] ?? 1) : 0;
    } finally {
      db2.close();
    }
  },
};

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
/** 128 + the signal's number, as a shell reports a command a signal ended. */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };
/** The health guard stopped training (see docs/reliability.md); distinct from 1, a failure. */
export const EXIT_DIVERGED = 3;

/** A `--config` file: a JSON object of run settings, or an error naming the file. */
export function readConfigFile(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`${file}: ${(err as Error).message}`, 2);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    const got = doc === null ? 'null' : Array.isArray(doc) ? 'an array' : `a ${typeof doc}`;
    throw new CliError(`${file}: a run config must be a JSON object such as {"grpo": {"beta": 0.02}}, got ${got}`, 2);
  }
  return doc as Record<string, unknown>;
}
