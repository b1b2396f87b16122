// `veripo run`: the VerIPO loop (or a baseline preset) headless, into the database.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import type { CliCommand } from './command';
import { CliError } from './command';
import { resolveDbPath, printJson, formatTable } from './common';
import { progressBar, formatSeconds, type ProgressBar } from './progress';
import { openDb, getRun, reconcileInterruptedRuns } from '../store';
import { createRunFromPreset, startRunWorker } from '../loop/launcher';
import { ConfigError, DEFAULT_PRESET, PRESETS } from '../loop/config';
import type { RunEvent } from '../../shared/events';

export const command: CliCommand = {
  name: 'run',
  summary: 'run the VerIPO loop (or a baseline preset) on the embedded benchmark',
  usage:
    'veripo run [--preset ' +
    Object.keys(PRESETS).join('|') +
    `] [--config FILE] [--set key=value]… [--db FILE] [--json]\n       veripo run --resume RUN_ID [--db FILE] [--json]\n(default preset: ${DEFAULT_PRESET}; keys are namespaced by stage: grpo.loss_type, dpo.beta, loop.iterations, …)`,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        preset: { type: 'string' },
        config: { type: 'string' },
        set: { type: 'string', multiple: true, default: [] },
        db: { type: 'string' },
        json: { type: 'boolean', default: false },
        resume: { type: 'string' },
        name: { type: 'string' },
        experiment: { type: 'string' },
      },
      strict: true,
    });
    const dbPath = resolveDbPath(values.db);
    const db = openDb(dbPath);
    let runId: number;
    try {
      if (values.resume) {
        runId = Number(values.resume);
        if (!Number.isInteger(runId)) throw new CliError(`--resume takes a run id, got "${values.resume}"`, 2);
        reconcileInterruptedRuns(db);
        const run = getRun(db, runId);
        if (!run) throw new CliError(`run ${runId} does not exist in ${dbPath}`);
        if (run.status === 'finished') throw new CliError(`run ${runId} already finished`);
        if (run.status === 'running') throw new CliError(`run ${runId} is still running in another process; stop it (Ctrl-C there, or Stop in the app) first`);
      } else {
        const overrides: Record<string, string> = {};
        for (const s of values.set ?? []) {
          const eq = s.indexOf('=');
          if (eq <= 0) throw new CliError(`--set takes key=value, got "${s}"`, 2);
          overrides[s.slice(0, eq).trim()] = s.slice(eq + 1);
        }
        let file: Record<string, unknown> | undefined;
        if (values.config) {
          try {
            file = JSON.parse(readFileSync(values.config, 'utf8'));
          } catch (err) {
            throw new CliError(`${values.config}: ${(err as Error).message}`);
          }
        }
        try {
          runId = createRunFromPreset(db, { preset: values.preset ?? DEFAULT_PRESET, overrides, file, experiment: values.experiment, name: values.name }).runId;
        } catch (err) {
          if (err instanceof ConfigError) throw new CliError(values.config ? `${values.config}: ${err.message}` : err.message, 2);
          throw err;
        }
      }
    } finally {
      db.close();
    }

    if (!values.json) process.stderr.write(`run ${runId} → ${dbPath}\n`);
    let bar: ProgressBar | null = null;
    let barKey = '';
    const onEvent = (e: RunEvent) => {
      if (values.json) return;
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
    const onSignal = () => {
      process.stderr.write('\nstopping after the current step (Ctrl-C again to kill)…\n');
      handle.stop();
      process.once('SIGINT', () => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    const outcome = await handle.done;
    process.off('SIGINT', onSignal);

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
      return outcome.status === 'failed' ? 1 : 0;
    } finally {
      db2.close();
    }
  },
};
