// Runs a rubric's checks over rollouts and assembles verdicts. Rules run synchronously
// (10k rollouts in well under a second per thousand); the LLM judge, if enabled, runs
// concurrently through its client. In the rubric's "override" mode the judge's
// consistency (and correctness, when it states it) replace the rules' flags; in "score"
// mode it only adds its weighted score.
import { parseCompletion, runRuleChecks, skipped, type ParsedCompletion } from './checks';
import { JudgeClient, JudgeError, judgeCheckResult } from './judge';
import type { Rubric } from './rubric';
import type { CheckResult, GroundingFn, Rollout, Verdict } from './types';

export interface VerifyOptions {
  /** judge client to use; created from rubric.judge when the judge check is enabled and none is given */
  judge?: JudgeClient;
  /** scene fact-log grounding for built-in benchmark rollouts */
  grounding?: GroundingFn;
  /** called after each group with the number of rollouts verified so far */
  onProgress?: (done: number) => void;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Verdict fields from the checks; score is the weighted mean of the checks that ran. */
export function assembleVerdict(rollout: Rollout, checks: CheckResult[], rubric: Rubric, words: number): Verdict {
  const by = (name: string) => checks.find((c) => c.name === name);
  const ran = (c: CheckResult | undefined) => !!c && !c.skipped && !c.error;
  let wsum = 0;
  let total = 0;
  for (const c of checks) {
    if (!ran(c)) continue;
    const w = rubric.checks[c.name as keyof Rubric['checks']]?.weight ?? 0;
    wsum += w;
    total += w * c.score;
  }
  const acc = by('accuracy');
  const cons = by('consistency');
  const judge = by('judge');
  const judged = ran(judge) && rubric.checks.judge.mode === 'override' ? (judge!.details as { consistent?: boolean; correct?: boolean }) : null;
  const rep = by('repetition');
  const fmt = by('format');
  const len = by('length');
  const refl = by('reflection');
  return {
    index: rollout.index,
    promptId: rollout.promptId,
    correct: judged?.correct ?? (ran(acc) && acc!.pass),
    consistent: judged?.consistent ?? (!ran(cons) || cons!.pass),
    repetitive: ran(rep) && !rep!.pass,
    truncated: Boolean(len?.details?.truncated),
    reflective: ran(refl) && refl!.pass,
    formatted: !ran(fmt) || fmt!.pass,
    concluded: ran(cons) ? cons!.details?.conclusion != null : null,
    judge_failed: !!judge && !judge.skipped && (!!judge.error || !judge.pass),
    length: words,
    score: wsum > 0 ? total / wsum : 0,
    checks,
    reasons: checks.filter((c) => c.error || (!c.skipped && !c.pass && c.name !== 'reflection')).map((c) => `${c.name}: ${c.reason}`),
  };
}

/** The judge the rubric names, with its circuit breaker. */
export function judgeClientFor(rubric: Rubric): JudgeClient {
  return new JudgeClient(rubric.judge, { maxConsecutiveFailures: rubric.checks.judge.max_consecutive_failures });
}

/** Rule checks of one rollout (no judge). */
export function verifyRolloutRules(
  rollout: Rollout,
  rubric: Rubric,
  groupMedianWords?: number,
  grounding?: GroundingFn,
  parsed: ParsedCompletion = parseCompletion(rollout.completion),
): Verdict {
  const checks = runRuleChecks({ rollout, rubric, parsed, groupMedianWords, grounding });
  checks.push(skipped('judge', 'disabled by the rubric'));
  return assembleVerdict(rollout, checks, rubric, parsed.words);
}

/** All checks of one rollout, the judge included when the rubric enables it. */
export async function verifyRollout(rollout: Rollout, rubric: Rubric, opts: VerifyOptions & { groupMedianWords?: number } = {}): Promise<Verdict> {
  const parsed = parseCompletion(rollout.completion);
  const checks = runRuleChecks({ rollout, rubric, parsed, groupMedianWords: opts.groupMedianWords, grounding: opts.grounding });
  if (rubric.checks.judge.enabled) {
    const client = opts.judge ?? judgeClientFor(rubric);
    const outcome = await client
      .judge({
        question: rollout.prompt,
        reasoning: parsed.reasoning.trim(),
        answer: parsed.answer?.text.trim() ?? '(no answer)',
        ground_truth: rollout.spec.answer,
      })
      .catch((e: unknown) => (e instanceof JudgeError ? e : new JudgeError('unreachable', String(e))));
    checks.push(judgeCheckResult(outcome, rubric));
  } else {
    checks.push(skipped('judge', 'disabled by the rubric'));
  }
  return assembleVerdict(rollout, checks, rubric, parsed.words);
}

/** One prompt group: the length check compares each rollout with the group median. */
export async function verifyGroup(rollouts: Rollout[], rubric: Rubric, opts: VerifyOptions = {}): Promise<Verdict[]> {
  const parsed = rollouts.map((r) => parseCompletion(r.completion));
  const groupMedianWords = median(parsed.map((p) => p.words));
  if (!rubric.checks.judge.enabled) return rollouts.map((r, i) => verifyRolloutRules(r, rubric, groupMedianWords, opts.grounding, parsed[i]));
  const judge = opts.judge ?? judgeClientFor(rubric);
  return Promise.all(rollouts.map((r) => verifyRollout(r, rubric, { ...opts, judge, groupMedianWords })));
}

/** Rollouts grouped by promptId, in order of first appearance. */
export function groupByPrompt<T extends { promptId: string }>(rollouts: T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const r of rollouts) {
    let g = groups.get(r.promptId);
    if (!g) groups.set(r.promptId, (g = []));
    g.push(r);
  }
  return [...groups.values()];
}

/** Every rollout verified within its group; verdicts come back in input order. */
export async function verifyAll(rollouts: Rollout[], rubric: Rubric, opts: VerifyOptions = {}): Promise<Verdict[]> {
  const judge = rubric.checks.judge.enabled ? (opts.judge ?? judgeClientFor(rubric)) : undefined;
  const verdicts = new Array<Verdict>(rollouts.length);
  const position = new Map<Rollout, number>(rollouts.map((r, i) => [r, i]));
  let done = 0;
  // groups run concurrently: rules are synchronous anyway, and judge requests are
  // throttled by the client's concurrency limit, not by group boundaries
  await Promise.all(
    groupByPrompt(rollouts).map(async (group) => {
      const vs = await verifyGroup(group, rubric, { ...opts, judge });
      group.forEach((r, k) => (verdicts[position.get(r)!] = vs[k]));
      done += group.length;
      opts.onProgress?.(done);
    }),
  );
  return verdicts;
}
