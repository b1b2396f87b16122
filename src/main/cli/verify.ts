// `veripo verify`: rollouts from another trainer (TRL, verl/EasyR1, Video-R1, Open-R1;
// format detected) → verdicts, preference pairs and a summary. Output paths are checked
// and everything is read first, so with --on-error fail a bad record stops the command
// before any output file is touched. A required judge that failed makes the exit code 3.
import { writeJsonlAtomic } from '../io/jsonl';
import type { RolloutRecord } from '../io/rollouts';
import { buildAllPairs } from '../verifier/pairs';
import { summarise, type VerifySummary } from '../verifier/summary';
import { loadRubric } from '../verifier/presets';
import { RubricParseError, type Rubric } from '../verifier/rubric';
import type { Verdict } from '../verifier/types';
import { judgeClientFor, verifyAll } from '../verifier/verify';
import { CliError, type CliCommand } from './command';
import { parseCliArgs, DB_FLAG, JSON_FLAG } from './common';
import { progressBar } from './progress';
import { checkOutputPath, readRolloutInput, ROLLOUT_INPUT_OPTIONS, ROLLOUT_INPUT_USAGE } from './rollout-input';

/** One output line per input record, in order; skipped lines say why. */
function verdictLine(record: RolloutRecord, verdict: Verdict | undefined): Record<string, unknown> {
  if (!record.ok || !verdict) return { index: record.index, line: record.line, skipped: true, error: record.ok ? 'not verified' : record.error, correct: null, consistent: null, repetitive: null, reasons: [] };
  const { index, promptId, checks, ...rest } = verdict;
  return { index, line: record.line, prompt_id: promptId, ...rest, checks };
}

function printSummary(s: VerifySummary, write: (t: string) => void) {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  write(`rollouts            ${s.n}${s.skipped ? ` (${s.skipped} bad record${s.skipped > 1 ? 's' : ''} skipped)` : ''}\n`);
  write(`accuracy            ${pct(s.accuracy)}${s.no_ground_truth ? ` (${s.no_ground_truth} without ground truth not counted)` : ''}\n`);
  write(`format rate         ${pct(s.format_rate)}\n`);
  write(`inconsistency rate  ${pct(s.inconsistency_rate)}\n`);
  write(`no conclusion       ${s.no_conclusion} (reasoning with no conclusion the rules could read)\n`);
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

export async function loadRubricOrFail(nameOrPath: string): Promise<Rubric> {
  try {
    return await loadRubric(nameOrPath);
  } catch (e) {
    if (e instanceof RubricParseError) throw new CliError(e.message);
    throw new CliError(`cannot read rubric ${nameOrPath}: ${(e as Error).message}`);
  }
}

/** Exit code 3 and a message when the rubric requires the judge and it failed; also says when the breaker opened. */
export function judgeOutcome(rubric: Rubric, verdicts: Verdict[], breaker: string | null, warn: (l: string) => void): number {
  if (breaker) warn(`judge: ${breaker}`);
  const failed = verdicts.filter((v) => v.checks.some((c) => c.name === 'judge' && c.error)).length;
  if (!rubric.checks.judge.enabled || !rubric.checks.judge.required || failed === 0) return 0;
  warn(`error: the judge is required by the rubric and failed on ${failed} of ${verdicts.length} rollouts (marked judge_failed)`);
  return 3;
}

export const command: CliCommand = {
  name: 'verify',
  summary: 'Verify rollouts from TRL, verl, EasyR1, Video-R1 or Open-R1 (format detected) and build preference pairs',
  usage: [
    'veripo verify --rollouts FILE [--format auto|trl|verl|easyr1|videor1|openr1|flat] [--dataset FILE --id-field NAME]',
    '              [--rubric default|strict|lenient|judge|FILE.json] [--out VERDICTS.jsonl] [--pairs PAIRS.jsonl]',
    '              [--on-error skip|fail] [--json]',
    '',
    ROLLOUT_INPUT_USAGE,
    'Exit codes: 0 done, 1 bad input, 2 bad usage, 3 the rubric requires the judge and it failed (outputs still written).',
  ].join('\n'),
  async run(argv) {
    const { values } = parseCliArgs(argv, {
      ...ROLLOUT_INPUT_OPTIONS,
      rubric: { type: 'string', default: 'default' },
      out: { type: 'string' },
      pairs: { type: 'string' },
      ...JSON_FLAG,
      // every veripo command takes --db; verify reads files only (`veripo import` stores them)
      ...DB_FLAG,
    });
    const warn = (line: string) => process.stderr.write(`${line}\n`);
    checkOutputPath('out', values.out, values.rollouts);
    checkOutputPath('pairs', values.pairs, values.rollouts);
    const rubric = await loadRubricOrFail(values.rubric);
    const read = await readRolloutInput(values, warn);

    const bar = progressBar('verify', read.rollouts.length);
    const judge = rubric.checks.judge.enabled ? judgeClientFor(rubric) : undefined;
    const verdicts = await verifyAll(read.rollouts, rubric, { judge, onProgress: (done) => bar.update(done) });
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
    return judgeOutcome(rubric, verdicts, judge?.breakerMessage ?? null, warn);
  },
};
