// `veripo import`: rollouts from other trainers (TRL, verl, Video-R1 JSONL) into the database,
// verified and paired, so the app's inspector and pair curation work on them like on local runs.
import { parseArgs } from 'node:util';
import { basename, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { CliCommand } from './command';
import { CliError } from './command';
import { resolveDbPath, printJson } from './common';
import { openDb } from '../store';
import { importRollouts } from '../io/import-db';

export const command: CliCommand = {
  name: 'import',
  summary: 'import external rollouts (TRL / verl / Video-R1 JSONL) into the database, verified and paired',
  usage: 'veripo import --rollouts FILE.jsonl [--rubric NAME|FILE] [--experiment NAME] [--on-error skip|fail] [--db FILE] [--json]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        rollouts: { type: 'string' },
        rubric: { type: 'string', default: 'default' },
        experiment: { type: 'string', default: 'imports' },
        'on-error': { type: 'string', default: 'fail' },
        db: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (!values.rollouts) throw new CliError('--rollouts FILE is required', 2);
    if (!existsSync(values.rollouts)) throw new CliError(`${values.rollouts}: no such file`);
    const onError = values['on-error'];
    if (onError !== 'skip' && onError !== 'fail') throw new CliError(`--on-error must be skip or fail, got "${onError}"`, 2);
    const db = openDb(resolveDbPath(values.db));
    try {
      const r = await importRollouts(db, {
        file: resolve(values.rollouts),
        rubric: values.rubric!,
        experiment: values.experiment!,
        name: basename(values.rollouts),
        onError,
        onProblem: (p) => process.stderr.write(`${p.file}:${p.line}: ${p.message} (skipped)\n`),
      });
      if (values.json) printJson(r);
      else process.stdout.write(`imported ${r.rollouts} rollouts (${r.skipped} skipped) as run ${r.run_id}; ${r.pairs} preference pairs\n`);
      return 0;
    } finally {
      db.close();
    }
  },
};
