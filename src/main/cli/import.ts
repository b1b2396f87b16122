// `veripo import`: rollouts from other trainers (TRL, verl, EasyR1, Video-R1, Open-R1;
// format detected) into the database, verified with the rubric (its judge included) and
// paired, so the app's inspector and pair curation work on them like on local runs.
import { basename, resolve } from 'node:path';
import type { CliCommand } from './command';
import { resolveDbPath, printJson, parseCliArgs, DB_FLAG, JSON_FLAG } from './common';
import { openDb } from '../store';
import { importRollouts } from '../io/import-db';
import { judgeClientFor } from '../verifier/verify';
import { checkOutputPath, readRolloutInput, ROLLOUT_INPUT_OPTIONS, ROLLOUT_INPUT_USAGE } from './rollout-input';
import { judgeOutcome, loadRubricOrFail } from './verify';

export const command: CliCommand = {
  name: 'import',
  summary: 'import rollouts from TRL / verl / EasyR1 / Video-R1 / Open-R1 (format detected) into the database, verified and paired',
  usage: [
    'veripo import --rollouts FILE [--format auto|trl|verl|easyr1|videor1|openr1|flat] [--dataset FILE --id-field NAME]',
    '              [--rubric NAME|FILE] [--experiment NAME] [--on-error skip|fail] [--db FILE] [--json]',
    '',
    ROLLOUT_INPUT_USAGE,
    'The rubric\'s judge runs when it enables one; exit code 3 when it is required and failed (the import is still stored).',
  ].join('\n'),
  async run(argv) {
    const { values } = parseCliArgs(argv, {
      ...ROLLOUT_INPUT_OPTIONS,
      rubric: { type: 'string', default: 'default' },
      experiment: { type: 'string', default: 'imports' },
      ...DB_FLAG,
      ...JSON_FLAG,
    });
    const warn = (line: string) => process.stderr.write(`${line}\n`);
    const dbPath = resolveDbPath(values.db);
    // The default database's folder ($VERIPO_HOME) is created on first use; a --db the user names must be writable already.
    if (values.db) checkOutputPath('db', dbPath, values.rollouts);
    const rubric = await loadRubricOrFail(values.rubric);
    const read = await readRolloutInput(values, warn);
    const judge = rubric.checks.judge.enabled ? judgeClientFor(rubric) : undefined;
    const db = openDb(dbPath);
    try {
      const r = await importRollouts(db, {
        file: resolve(values.rollouts!),
        read,
        rubric,
        rubricName: values.rubric,
        experiment: values.experiment,
        name: basename(values.rollouts!),
        judge,
      });
      const { verdicts, ...summary } = r;
      if (values.json) printJson({ ...summary, format: read.detected.format });
      else process.stdout.write(`imported ${r.rollouts} rollouts (${r.skipped} skipped) as run ${r.run_id}; ${r.pairs} preference pairs\n`);
      return judgeOutcome(rubric, verdicts, judge?.breakerMessage ?? null, warn);
    } finally {
      db.close();
    }
  },
};
