// `veripo verify`: rollouts from another trainer (TRL, verl/EasyR1, Video-R1 JSONL) →
// verdicts, preference pairs and a summary. Reads everything first, so with
// --on-error fail a bad line stops the command before any output file is touched.
import { parseArgs } from 'node:util';
import { InputError, writeJsonlAtomic, type OnError } from '../io/jsonl';
import { readRollouts, type RolloutRecord } from '../io/rollouts';
import { buildAllPairs } from '../verifier/pairs';
import { summarise, type VerifySummary } from '../verifier/summary';
import { loadRubric } from '../verifier/presets';
import { RubricParseError } from '../verifier/rubric';
import type { Verdict } from '../verifier/types';
import { verifyAll } from '../verifier/verify';
import { CliError, type CliCommand } from './command';
import { progressBar } from './progress';

/** One output line per input record, in order; skipped lines say why. */
function verdictLine(record: RolloutRecord, verdict: Verdict | undefined): Record<string, unknown> {
  if (!record.ok || !verdict) return { index: record.index, line: record.line, skipped: true, error: record.ok ? 'not verified' : record.error, correct: null, consistent: null, repetitive: null, reasons: [] };
  const { index, promptId, checks, ...rest } = verdict;
  return { index, line: record.line, prompt_id: promptId, ...rest, checks };
}

function printSummary(s: VerifySummary, write: (t: string) => void) {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  write(`rollouts            ${s.n}${s.skipped ? ` (${s.skipped} bad line${s.skipped > 1 ? 's' : ''} skipped)` : ''}\n`);
  write(`accuracy            ${pct(s.accuracy)}\n`);
  write(`format rate         ${pct(s.format_rate)}\n`);
  write(`inconsistency rate  ${pct(s.inconsistency_rate)}\n`);
  write(`repetition rate     ${pct(s.repetition_rate)}\n`);
  write(`truncation rate     ${pct(s.truncation_rate)}\n`);
  write(`reflection rate     ${pct(s.reflection_rate)}\n`);
  write(`mean length         ${s.mean_length.toFixed(1)} words\n`);
  if (s.judge_errors) write(`judge errors        ${s.judge_errors} (see "judge" in the verdicts)\n`);
  const kinds = Object.entries(s.pairs)
    .filter(([k, v]) => k !== 'total' && v > 0)
    .map(([k, v]) => `${k} ${v}`);
  write(`pairs               ${s.pairs.total}${kinds.length ? ` (${kinds.join(', ')})` : ''}\n`);
}

export const command: CliCommand = {
  name: 'verify',
  summary: 'Verify external rollouts (TRL, verl, Video-R1 JSONL) and build preference pairs',
  usage: [
    'veripo verify --rollouts FILE.jsonl [--rubric default|strict|lenient|FILE.json] [--out VERDICTS.jsonl]',
    '              [--pairs PAIRS.jsonl] [--on-error skip|fail] [--json]',
    '',
    'Fields: prompt|question|problem, completion|model_output|response, ground_truth|answer|solution,',
    'optional prompt_id|question_id|group_id|problem_id (groups; else by prompt text), reward,',
    'problem_type, options, video|video_path|path, truncated|finish_reason.',
    '--on-error fail (default) stops at the first bad line and writes nothing; skip reports it on stderr and goes on.',
  ].join('\n'),
  async run(argv) {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          rollouts: { type: 'string' },
          rubric: { type: 'string', default: 'default' },
          out: { type: 'string' },
          pairs: { type: 'string' },
          'on-error': { type: 'string', default: 'fail' },
          json: { type: 'boolean', default: false },
          // every veripo command takes --db; verify reads files only (`veripo import` stores them)
          db: { type: 'string' },
        },
        strict: true,
      }));
    } catch (e) {
      throw new CliError((e as Error).message, 2);
    }
    if (!values.rollouts) throw new CliError('missing --rollouts FILE.jsonl', 2);
    const onError = values['on-error'];
    if (onError !== 'skip' && onError !== 'fail') throw new CliError(`--on-error must be skip or fail, got "${onError}"`, 2);

    let rubric;
    try {
      rubric = await loadRubric(values.rubric!);
    } catch (e) {
      if (e instanceof RubricParseError) throw new CliError(e.message);
      throw new CliError(`cannot read rubric ${values.rubric}: ${(e as Error).message}`);
    }

    let read;
    try {
      read = await readRollouts(values.rollouts, {
        onError: onError as OnError,
        onProblem: (p) => process.stderr.write(`warning: ${p.file}:${p.line}: ${p.message} (skipped)\n`),
      });
    } catch (e) {
      if (e instanceof InputError) throw new CliError(`${e.message}\nnothing written (use --on-error skip to skip bad lines)`);
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') throw new CliError(`no such file: ${values.rollouts}`);
      throw e;
    }

    const bar = progressBar('verify', read.rollouts.length);
    const verdicts = await verifyAll(read.rollouts, rubric, { onProgress: (done) => bar.update(done) });
    bar.finish();
    const pairs = buildAllPairs(read.rollouts, verdicts, rubric);
    const summary = summarise(verdicts, pairs, read.problems.length);

    if (values.out) {
      const byIndex = new Map(verdicts.map((v) => [v.index, v]));
      await writeJsonlAtomic(values.out, read.records.map((r) => verdictLine(r, byIndex.get(r.index))));
    }
    if (values.pairs) await writeJsonlAtomic(values.pairs, pairs);

    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      printSummary(summary, (t) => process.stdout.write(t));
      if (values.out) process.stdout.write(`verdicts → ${values.out}\n`);
      if (values.pairs) process.stdout.write(`pairs    → ${values.pairs}\n`);
    }
    return 0;
  },
};
