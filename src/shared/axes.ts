// X axes for comparing runs: where a metric point sits on "RL step", "RL wall-clock" or
// "prompts seen". Pure functions of a run's stage layout, shared by the renderer and tests.
//
// Stored points carry a run-global step (SFT steps included) and a wall_s that restarts at 0
// in every stage and includes the stage's eval. Comparing methods at equal budget needs neither:
// RL step counts only the chosen stage kinds' steps; RL wall-clock adds up the RL stages'
// training seconds (eval excluded: summary.train_s), the clock `loop.max_seconds` budgets.

export type StageKindName = 'sft' | 'grpo' | 'verify' | 'dpo' | 'eval';
export type XAxis = 'rl_step' | 'rl_wall' | 'prompts' | 'step';

export interface AxisStage {
  id: number;
  kind: StageKindName;
  ordinal: number;
  /** smallest and largest metric step stored for this stage (null: no metrics) */
  first_step: number | null;
  last_step: number | null;
  /** training seconds without eval; null while the stage runs */
  train_s: number | null;
}

export interface RunAxes {
  run_id: number;
  stages: AxisStage[];
  /** GRPO prompts sampled at each metric step (one group of G completions each) */
  prompts: { step: number; n: number }[];
}

export interface AxisPoint {
  step: number;
  wall_s: number | null;
  stage_id: number | null;
}

/** Kinds whose steps the RL step axis counts by default: everything after cold-start SFT. */
export const RL_KINDS: readonly StageKindName[] = ['grpo', 'verify', 'dpo'];

/** Points that mark a state (validation, test) rather than a training step: kept at the stage's end. */
const isSnapshot = (name: string) => name.startsWith('val/') || name.startsWith('test/');

/**
 * A function giving each point of metric `name` its x on `axis`, or null when the point has no
 * place there (an SFT loss on the RL step axis). Runs without stages (imports) keep raw steps.
 */
export function axisMapper(run: RunAxes, axis: XAxis, kinds: readonly StageKindName[] = RL_KINDS): (p: AxisPoint, name: string) => number | null {
  if (axis === 'step' || run.stages.length === 0) return (p) => (axis === 'rl_wall' ? p.wall_s : p.step);
  const stages = [...run.stages].sort((a, b) => a.ordinal - b.ordinal);
  const byId = new Map<number, { offset: number; lo: number; count: number; span: number; included: boolean }>();
  let offset = 0;
  let prevHi = -Infinity;
  for (const s of stages) {
    const included = axis === 'rl_wall' ? s.kind !== 'sft' && s.kind !== 'eval' : axis === 'prompts' ? s.kind === 'grpo' : kinds.includes(s.kind);
    // Each stage's own steps: an eval point reuses the previous stage's last step.
    const lo = Math.max(s.first_step ?? Infinity, prevHi + 1);
    const count = s.last_step == null || !Number.isFinite(lo) ? 0 : Math.max(0, s.last_step - lo + 1);
    if (s.last_step != null) prevHi = Math.max(prevHi, s.last_step);
    const span = axis === 'rl_wall' ? (s.train_s ?? Infinity) : count;
    byId.set(s.id, { offset, lo, count, span, included });
    if (included && Number.isFinite(span)) offset += span;
  }
  const end = offset;
  const cumulative = prefixPrompts(run.prompts);
  return (p, name) => {
    const st = p.stage_id == null ? undefined : byId.get(p.stage_id);
    if (!st) return isSnapshot(name) ? end : null;
    if (!st.included) return isSnapshot(name) ? st.offset : null;
    if (axis === 'rl_wall') {
      if (p.wall_s == null) return null;
      return st.offset + Math.min(Math.max(0, p.wall_s), st.span);
    }
    if (axis === 'prompts') return cumulative(p.step);
    return st.offset + Math.min(Math.max(0, p.step - st.lo + 1), st.count);
  };
}

/** Prompts sampled up to and including a step. */
function prefixPrompts(prompts: RunAxes['prompts']): (step: number) => number {
  const sorted = [...prompts].sort((a, b) => a.step - b.step);
  const steps = sorted.map((p) => p.step);
  const sums: number[] = [];
  let acc = 0;
  for (const p of sorted) sums.push((acc += p.n));
  return (step) => {
    let lo = 0;
    let hi = steps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (steps[mid]! <= step) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : sums[lo - 1]!;
  };
}

export const AXIS_LABELS: Record<XAxis, string> = {
  rl_step: 'RL step',
  rl_wall: 'RL wall-clock (s)',
  prompts: 'prompts seen',
  step: 'global step (SFT included)',
};
