// `veripo runs list|show|compare`: what is in the database.
import type { CliCommand } from './command';
import { CliError } from './command';
import { resolveDbPath, printJson, formatTable, parseCliArgs, DB_FLAG, JSON_FLAG } from './common';
import { formatSeconds } from './progress';
import { openDbForReading, databaseError, listRuns, getRun, reconcileInterruptedRuns } from '../store';
import { compareRuns } from '../loop/compare';

export const command: CliCommand = {
  name: 'runs',
  summary: 'list, show and compare runs stored in the database',
  usage: 'veripo runs list [--json] [--db FILE]\n       veripo runs show ID [--json] [--db FILE]\n       veripo runs compare ID ID… [--json] [--db FILE]',
  async run(argv) {
    const [sub, ...rest] = argv;
    const { values, positionals } = parseCliArgs(rest, { ...JSON_FLAG, ...DB_FLAG }, { usage: command.usage, positionals: true });
    const dbPath = resolveDbPath(values.db);
    const { db, readonly } = openDbForReading(dbPath);
    try {
      // Read-only: listing must still work on a database someone else owns; its dead runs stay as they are.
      if (!readonly) reconcileInterruptedRuns(db);
      switch (sub) {
        case 'list': {
          const runs = listRuns(db);
          if (values.json) printJson(runs);
          else if (runs.length === 0) process.stdout.write('no runs yet: start one with `veripo run`\n');
          else
            process.stdout.write(
              formatTable(
                ['id', 'experiment', 'preset', 'seed', 'status', 'backend', 'val acc', 'wall'],
                runs.map((r) => [r.id, r.experiment, r.preset, r.seed, r.status, r.backend, r.final_val?.accuracy ?? null, r.wall_s != null ? formatSeconds(r.wall_s) : null]),
              ) + '\n',
            );
          return 0;
        }
        case 'show': {
          const id = Number(positionals[0]);
          if (!Number.isInteger(id)) throw new CliError('usage: veripo runs show ID', 2);
          const run = getRun(db, id);
          if (!run) throw new CliError(`run ${id} does not exist in ${dbPath}`);
          if (values.json) printJson(run);
          else {
            process.stdout.write(`run ${run.id} (${run.experiment}, preset ${run.preset ?? '-'}, seed ${run.seed}) ${run.status}\n`);
            process.stdout.write(`backend: ${run.backend ?? '-'}${run.backend_reason ? ` (${run.backend_reason})` : ''}\n`);
            if (run.error) process.stdout.write(`error: ${run.error}\n`);
            process.stdout.write(
              formatTable(
                ['#', 'kind', 'iter', 'status', 'wall', 'val acc', 'mean len', 'inconsistency'],
                run.stages.map((s) => [s.ordinal, s.kind, s.iteration, s.status, s.wall_s != null ? formatSeconds(s.wall_s) : null, s.val?.accuracy ?? null, s.val?.mean_length ?? null, s.val?.inconsistency_rate ?? null]),
              ) + '\n',
            );
          }
          return 0;
        }
        case 'compare': {
          const ids = positionals.map(Number);
          if (ids.length < 1 || ids.some((i) => !Number.isInteger(i))) throw new CliError('usage: veripo runs compare ID ID…', 2);
          const rows = compareRuns(db, ids);
          if (values.json) printJson(rows);
          else
            process.stdout.write(
              formatTable(
                ['run', 'preset', 'seed', 'status', 'wall', 'val acc', 'mean len', 'inconsistency', 'best acc', 'time to best'],
                rows.map((r) => [r.run_id, r.preset, r.seed, r.status, r.wall_s != null ? formatSeconds(r.wall_s) : null, r.final?.accuracy ?? null, r.final?.mean_length ?? null, r.final?.inconsistency_rate ?? null, r.best_accuracy, r.time_to_best_s != null ? formatSeconds(r.time_to_best_s) : null]),
              ) + '\n',
            );
          return 0;
        }
        default:
          throw new CliError(`unknown subcommand "runs ${sub ?? ''}"\n${command.usage}`, 2);
      }
    } catch (err) {
      throw databaseError(err, dbPath);
    } finally {
      db.close();
    }
  },
};
