// The report of an experiment: test accuracy (greedy and pass@1) with paired standard errors
// against the baseline, CoT length, inconsistency and grounding, accuracy per family, the RL
// time each method needs to reach the baseline's best val accuracy, pairs by kind per verify
// stage, DPO's reward margins, and val curves over RL seconds as SVG.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../store';
import * as store from '../store';
import { PAIR_KINDS } from '../verifier/pairs';
import { lineChartSvg, PALETTE, type Series } from '../io/svg-chart';
import { meanOf, pairedChange, formatChange, type PairedChange } from '../train/paired';
import { TEST_RESULTS_FILE, type TestResults } from './stages/eval';
import type { ColdStart, ExperimentRun, ExperimentSpec } from './experiment';

/** A val point at the end of a stage, on the run's RL clock (GRPO, verify and DPO seconds; no SFT, no eval). */
export interface CurvePoint {
  rl_s: number;
  accuracy: number;
  mean_length: number;
  grounding_rate: number | null;
  inconsistency_rate: number;
  kind: string;
}

export interface RunFacts extends ExperimentRun {
  backend: string | null;
  rl_s: number;
  curve: CurvePoint[];
  test: TestResults | null;
  /** Per verify stage: its iteration and pair counts by kind. */
  pairs: { iteration: number; total: number; by_kind: Record<string, number> }[];
  /** Per DPO stage: the last logged reward margin and preference accuracy. */
  dpo: { iteration: number; margin: number | null; accuracy: number | null }[];
}

/** What the report is built from, read out of the database and the runs' folders. */
export function collectRunFacts(db: Db, dataDir: string, runs: ExperimentRun[]): RunFacts[] {
  return runs.map((r) => {
    const detail = store.getRun(db, r.run_id);
    if (!detail) throw new Error(`run ${r.run_id} is missing from the database`);
    let rl = 0;
    const curve: CurvePoint[] = [];
    for (const s of detail.stages) {
      if (s.kind === 'sft') continue;
      rl += Number(s.summary?.train_s ?? s.wall_s ?? 0);
      if (s.val) curve.push({ rl_s: rl, accuracy: s.val.accuracy, mean_length: s.val.mean_length, grounding_rate: s.val.grounding_rate ?? null, inconsistency_rate: s.val.inconsistency_rate, kind: s.kind });
    }
    const counts = db.prepare('SELECT stage_id, kind, COUNT(*) AS n FROM pairs WHERE run_id = ? GROUP BY stage_id, kind').all(r.run_id) as { stage_id: number | null; kind: string; n: number }[];
    const pairs = detail.stages
      .filter((s) => s.kind === 'verify')
      .map((s) => {
        const by_kind = Object.fromEntries(counts.filter((c) => c.stage_id === s.id).map((c) => [c.kind, c.n]));
        return { iteration: s.iteration, total: Object.values(by_kind).reduce((a, b) => a + b, 0), by_kind };
      });
    const dpoSeries = store.getMetrics(db, [r.run_id], ['dpo/rewards/margins', 'dpo/rewards/accuracies']);
    const lastIn = (name: string, stageId: number) => dpoSeries.find((m) => m.name === name)?.points.filter((p) => p.stage_id === stageId).at(-1)?.value ?? null;
    const dpo = detail.stages.filter((s) => s.kind === 'dpo').map((s) => ({ iteration: s.iteration, margin: lastIn('dpo/rewards/margins', s.id), accuracy: lastIn('dpo/rewards/accuracies', s.id) }));
    const testFile = join(dataDir, 'runs', String(r.run_id), TEST_RESULTS_FILE);
    const test = existsSync(testFile) ? (JSON.parse(readFileSync(testFile, 'utf8')) as TestResults) : null;
    return { ...r, status: detail.status, backend: detail.backend, rl_s: rl, curve, test, pairs, dpo };
  });
}

/** RL seconds at which a curve first reaches `target` (null: never). */
export function timeToReach(curve: readonly CurvePoint[], target: number): number | null {
  return curve.find((p) => p.accuracy >= target - 1e-12)?.rl_s ?? null;
}

/** Per-task scores averaged over seeds (runs of one method, aligned by task id). */
function seedMean(runs: readonly RunFacts[], pick: (t: TestResults) => number[] | null): number[] | null {
  const lists = runs.map((r) => (r.test ? pick(r.test) : null));
  if (!lists.length || lists.some((l) => l == null)) return null;
  const n = lists[0]!.length;
  if (lists.some((l) => l!.length !== n)) return null;
  return Array.from({ length: n }, (_, i) => meanOf(lists.map((l) => l![i]!)));
}

export interface MethodComparison {
  method: string;
  greedy: PairedChange | null;
  sampled: PairedChange | null;
}

/** Each method against the baseline on the same test tasks, per-task scores averaged over seeds first. */
export function compareToBaseline(facts: readonly RunFacts[], methods: readonly string[], baseline: string): MethodComparison[] {
  const of = (m: string) => facts.filter((f) => f.method === m);
  const base = of(baseline);
  return methods
    .filter((m) => m !== baseline)
    .map((m) => {
      const change = (pick: (t: TestResults) => number[] | null) => {
        const a = seedMean(base, pick);
        const b = seedMean(of(m), pick);
        return a && b && a.length === b.length && a.length > 0 ? pairedChange(a, b) : null;
      };
      return { method: m, greedy: change((t) => t.greedy.per_task), sampled: change((t) => t.sampled?.per_task ?? null) };
    });
}

const f3 = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(3));
const f1 = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(1));
/** Mean over seeds, with the spread when there are several. */
function meanSd(xs: (number | null | undefined)[], digits = 3): string {
  const v = xs.filter((x): x is number => x != null && Number.isFinite(x));
  if (!v.length) return '–';
  const m = meanOf(v);
  if (v.length === 1) return m.toFixed(digits);
  const sd = Math.sqrt(v.reduce((a, x) => a + (x - m) ** 2, 0) / (v.length - 1));
  return `${m.toFixed(digits)} ± ${sd.toFixed(digits)}`;
}

export interface Report {
  markdown: string;
  figures: { name: string; svg: string }[];
  summary: Record<string, unknown>;
}

export function buildReport(spec: ExperimentSpec, coldStart: ColdStart, facts: RunFacts[], command: string): Report {
  const methods = spec.methods;
  const baseline = methods.includes('grpo') ? 'grpo' : methods[0]!;
  const of = (m: string) => facts.filter((f) => f.method === m);
  const n = facts.find((f) => f.test)?.test?.task_ids.length ?? 0;
  const lines: string[] = [];
  const push = (...ls: string[]) => lines.push(...ls);

  push(`# Experiment "${spec.name}"`, '', '```', command, '```', '');
  push(
    `Methods ${methods.join(', ')} × seeds ${spec.seeds.join(', ')}, each run with ${spec.budget_s} s of RL wall-clock (GRPO, verifier and DPO counted alike; SFT and val evals not), ${spec.parallel} runs side by side.`,
    coldStart.cached === null
      ? `Every run starts from the checkpoint ${coldStart.checkpoint}.`
      : `Every run starts from one cold-start SFT (${coldStart.sft_steps} steps, ${coldStart.cached ? 'reused from the cache' : `trained in ${f1(coldStart.sft_seconds)} s`}): ${coldStart.checkpoint}.`,
    `Test: ${n} tasks of the test split, greedy, and pass@1 over ${spec.samples} samples per task at the GRPO temperature. Backend: ${[...new Set(facts.map((f) => f.backend ?? '?'))].join(', ')}.`,
    '',
  );
  const failed = facts.filter((f) => f.status !== 'finished');
  if (failed.length) push(`**Runs that did not finish:** ${failed.map((f) => `#${f.run_id} ${f.method}/s${f.seed} ${f.status}${f.error ? ` (${f.error})` : ''}`).join('; ')}.`, '');

  push('## Test accuracy and reasoning', '', '| method | seeds | greedy accuracy | pass@1 | mean CoT length (tokens) | inconsistency rate | grounding rate | RL seconds used |', '|---|---|---|---|---|---|---|---|');
  for (const m of methods) {
    const rs = of(m);
    push(`| ${m} | ${rs.length} | ${meanSd(rs.map((r) => r.test?.greedy.accuracy))} | ${meanSd(rs.map((r) => r.test?.sampled?.accuracy))} | ${meanSd(rs.map((r) => r.test?.greedy.mean_length), 1)} | ${meanSd(rs.map((r) => r.test?.greedy.inconsistency_rate))} | ${meanSd(rs.map((r) => r.test?.greedy.grounding_rate))} | ${meanSd(rs.map((r) => r.rl_s), 0)} |`);
  }
  push('', '(mean ± sample standard deviation over seeds; length, inconsistency and grounding of the greedy answers)', '');

  const comparisons = compareToBaseline(facts, methods, baseline);
  if (comparisons.length) {
    push(`## Against ${baseline}, paired over test tasks`, '', '| method | Δ greedy accuracy ± SE | Δ pass@1 ± SE | tasks better / worse (greedy) |', '|---|---|---|---|');
    for (const c of comparisons) push(`| ${c.method} | ${c.greedy ? formatChange(c.greedy) : '–'} | ${c.sampled ? formatChange(c.sampled) : '–'} | ${c.greedy ? `${c.greedy.improved} / ${c.greedy.worsened}` : '–'} |`);
    const ses = comparisons.flatMap((c) => [c.greedy?.se, c.sampled?.se]).filter((x): x is number => x != null);
    const worst = ses.length ? Math.max(...ses) : null;
    push('', `Per-task scores are averaged over seeds, then differenced task by task; SE is the standard error of that mean difference. Largest SE here: ${f3(worst)} (${n} tasks${worst == null ? '' : worst <= 0.02 ? ', within the 0.02 target' : '; more test tasks (--test-size) narrow it'}).`, '');
  }

  const families = [...new Set(facts.flatMap((f) => Object.keys(f.test?.greedy.by_family ?? {})))].sort();
  if (families.length) {
    push('## Accuracy per family (greedy / pass@1, mean over seeds)', '', `| family | ${methods.join(' | ')} |`, `|---|${methods.map(() => '---|').join('')}`);
    for (const fam of families) {
      push(`| ${fam} | ${methods.map((m) => `${f3(meanOf(of(m).map((r) => r.test?.greedy.by_family[fam] ?? NaN)))} / ${f3(meanOf(of(m).map((r) => r.test?.sampled?.by_family[fam] ?? NaN)))}`).join(' | ')} |`);
    }
    push('');
  }

  push(`## RL time to reach ${baseline}'s best val accuracy`, '', `| seed | ${baseline} best val accuracy | ${methods.map((m) => `${m} (s)`).join(' | ')} |`, `|---|---|${methods.map(() => '---|').join('')}`);
  const reach: Record<string, (number | null)[]> = Object.fromEntries(methods.map((m) => [m, []]));
  for (const seed of spec.seeds) {
    const base = facts.find((f) => f.method === baseline && f.seed === seed);
    const target = base?.curve.length ? Math.max(...base.curve.map((p) => p.accuracy)) : null;
    const cells = methods.map((m) => {
      const run = facts.find((f) => f.method === m && f.seed === seed);
      const t = run && target != null ? timeToReach(run.curve, target) : null;
      reach[m]!.push(t);
      return t == null ? 'not reached' : t.toFixed(0);
    });
    push(`| ${seed} | ${f3(target)} | ${cells.join(' | ')} |`);
  }
  push('', 'Val accuracy is measured after every GRPO and DPO stage; the time is the RL clock at the end of the first stage that reaches the target.', '');

  const withPairs = facts.filter((f) => f.pairs.length);
  if (withPairs.length) {
    const kinds = [...new Set([...PAIR_KINDS, ...withPairs.flatMap((f) => f.pairs.flatMap((p) => Object.keys(p.by_kind)))])];
    push('## Preference pairs by kind, per verify stage', '', `| run | method | seed | iteration | pairs | ${kinds.join(' | ')} | DPO margin | DPO accuracy |`, `|---|---|---|---|---|${kinds.map(() => '---|').join('')}---|---|`);
    for (const f of withPairs) {
      for (const p of f.pairs) {
        const dpo = f.dpo.find((d) => d.iteration === p.iteration);
        push(`| #${f.run_id} | ${f.method} | ${f.seed} | ${p.iteration} | ${p.total} | ${kinds.map((k) => p.by_kind[k] ?? 0).join(' | ')} | ${f3(dpo?.margin)} | ${f3(dpo?.accuracy)} |`);
      }
    }
    push('', "DPO margin and accuracy: the last logged batch's mean reward margin (chosen − rejected) and preference accuracy of the DPO stage after that verify stage.", '');
  }

  const figures = curveFigures(facts, methods, spec);
  push('## Val curves over RL seconds', '', ...figures.map((fig) => `![${fig.name}](${fig.name})`), '');
  push('## Runs', '', '| run | method | seed | status | RL seconds | greedy | pass@1 | length | inconsistency | grounding |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const f of facts) push(`| #${f.run_id} | ${f.method} | ${f.seed} | ${f.status} | ${f.rl_s.toFixed(0)} | ${f3(f.test?.greedy.accuracy)} | ${f3(f.test?.sampled?.accuracy)} | ${f1(f.test?.greedy.mean_length)} | ${f3(f.test?.greedy.inconsistency_rate)} | ${f3(f.test?.greedy.grounding_rate)} |`);
  push('');

  const summary = {
    baseline,
    test_size: n,
    samples: spec.samples,
    budget_s: spec.budget_s,
    comparisons,
    time_to_baseline_best_s: reach,
    runs: facts.map(({ curve: _c, test, ...f }) => ({ ...f, test: test ? { greedy: { ...test.greedy, per_task: undefined }, sampled: test.sampled ? { ...test.sampled, per_task: undefined } : null } : null })),
  };
  return { markdown: lines.join('\n'), figures, summary };
}

function curveFigures(facts: readonly RunFacts[], methods: readonly string[], spec: ExperimentSpec): { name: string; svg: string }[] {
  const series = (y: (p: CurvePoint) => number | null): Series[] =>
    facts.map((f) => ({
      name: `${f.method} s${f.seed}`,
      points: f.curve.flatMap((p) => (y(p) == null ? [] : [[p.rl_s, y(p)!] as [number, number]])),
      color: PALETTE[methods.indexOf(f.method) % PALETTE.length],
      dashed: spec.seeds.indexOf(f.seed) % 2 === 1,
    }));
  const chart = (name: string, title: string, yLabel: string, y: (p: CurvePoint) => number | null) => ({
    name,
    svg: lineChartSvg({ title, xLabel: 'RL wall-clock seconds (GRPO + verify + DPO)', yLabel, series: series(y) }),
  });
  return [
    chart('val-accuracy.svg', 'Val accuracy (greedy)', 'accuracy', (p) => p.accuracy),
    chart('val-mean-length.svg', 'Val mean response length', 'tokens', (p) => p.mean_length),
    chart('val-grounding.svg', 'Val grounding rate (observations the fact log supports)', 'grounding rate', (p) => p.grounding_rate),
    chart('val-inconsistency.svg', 'Val thinking–answer inconsistency', 'inconsistency rate', (p) => p.inconsistency_rate),
  ];
}
