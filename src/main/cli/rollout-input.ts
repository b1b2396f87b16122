// The rollout input shared by `veripo verify` and `veripo import`: --rollouts FILE with
// --format, --dataset/--id-field and --on-error; says what it detected, refuses empty or
// all-skipped input with a clear word, and checks output paths before any work.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadTruthIndex } from '../io/dataset-join';
import { FORMATS } from '../io/formats';
import { InputError, type OnError } from '../io/jsonl';
import { readRollouts, type FormatChoice, type ReadRolloutsResult } from '../io/rollouts';
import { CliError } from './command';

export const ROLLOUT_INPUT_OPTIONS = {
  rollouts: { type: 'string' },
  format: { type: 'string', default: 'auto' },
  dataset: { type: 'string' },
  'id-field': { type: 'string' },
  'on-error': { type: 'string', default: 'fail' },
} as const;

export const ROLLOUT_INPUT_USAGE = [
  'Input: JSONL, a JSON document (an array, or an object holding one such as {"results": [...]}) or parquet.',
  `--format auto|${FORMATS.join('|')} (auto: detected from the first record and reported on stderr):`,
  '  trl      completions log: step, prompt, completion, reward columns, advantage (no ground truth)',
  '  verl     rollout dump: input, output, gts, score, step; or dataset rows with reward_model.ground_truth',
  '  easyr1   generation log: input, output, label, score',
  '  videor1  eval output: problem, problem_type, options, solution, path, output',
  '  openr1   problem, answer, generations [..], finish_reasons',
  '  flat     prompt|question|problem, completion|response, ground_truth|answer|solution, ...',
  '--dataset FILE --id-field NAME joins ground truth (and problem_type, options, video) into logs without it;',
  '  rollouts still without one get only the checks that need none (consistency, repetition, length, format).',
  '--on-error fail (default) stops at the first bad record and writes nothing; skip reports it on stderr and goes on.',
].join('\n');

type InputValues = { rollouts?: string; format?: string; dataset?: string; 'id-field'?: string; 'on-error'?: string };

/** An output file path that can be written: its folder exists and is writable, it is not a folder, not the input. */
export function checkOutputPath(flag: string, path: string | undefined, input: string | undefined): void {
  if (!path) return;
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`--${flag} ${path}: folder ${dir} does not exist`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new CliError(`--${flag} ${path}: folder ${dir} is not writable`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) throw new CliError(`--${flag} ${path} is a folder, not a file`);
  if (input && resolve(path) === resolve(input)) throw new CliError(`--${flag} ${path} would overwrite the input`);
}

export function onErrorFlag(v: string | undefined): OnError {
  if (v !== 'skip' && v !== 'fail') throw new CliError(`--on-error must be skip or fail, got "${v}"`, 2);
  return v;
}

/** Read the rollouts the flags name; every refusal is a CliError naming file, line and field. */
export async function readRolloutInput(values: InputValues, warn: (line: string) => void): Promise<ReadRolloutsResult> {
  const file = values.rollouts;
  if (!file) throw new CliError('missing --rollouts FILE', 2);
  const onError = onErrorFlag(values['on-error']);
  const format = values.format ?? 'auto';
  if (format !== 'auto' && !(FORMATS as readonly string[]).includes(format)) throw new CliError(`--format must be auto or one of ${FORMATS.join(', ')}, got "${format}"`, 2);
  if (!!values.dataset !== !!values['id-field']) throw new CliError('--dataset FILE and --id-field NAME go together', 2);
  if (!existsSync(file)) throw new CliError(`no such file: ${file}`);
  if (values.dataset && !existsSync(values.dataset)) throw new CliError(`no such file: ${values.dataset}`);
  let read: ReadRolloutsResult;
  try {
    const truth = values.dataset ? await loadTruthIndex(values.dataset, values['id-field']!) : undefined;
    read = await readRollouts(file, {
      onError,
      format: format as FormatChoice,
      truth,
      onProblem: (p) => warn(`warning: ${p.file}:${p.line}: ${p.message} (skipped)`),
    });
  } catch (e) {
    if (e instanceof InputError) throw new CliError(`${e.message}\nnothing written${onError === 'fail' ? ' (use --on-error skip to skip bad records)' : ''}`);
    throw e;
  }
  const d = read.detected;
  warn(`${file}: ${d.format} format in a ${d.container === 'json' ? 'JSON document' : d.container} file (${d.why})`);
  if (read.rollouts.length === 0) {
    throw new CliError(read.problems.length ? `${file}: all ${read.problems.length} records were skipped; nothing to verify, nothing written` : `${file}: empty input, no rollouts; nothing written`);
  }
  if (read.noTruth) {
    warn(
      `${read.noTruth} of ${read.rollouts.length} rollouts have no ground truth: accuracy is not checked for them, only consistency, repetition, length and format` +
        (values.dataset ? ` (no match in ${values.dataset} by "${values['id-field']}")` : ' (join one with --dataset FILE --id-field NAME)'),
    );
  }
  return read;
}
