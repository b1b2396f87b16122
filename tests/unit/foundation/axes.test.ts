import { describe, it, expect } from 'vitest';
import { axisMapper, type RunAxes, type AxisStage } from '../../../src/shared/axes';

/** A run as the loop stores it: global steps, wall_s restarting per stage, eval inside wall but not train_s. */
function run(runId: number, sftSteps: number, opts: { grpoSteps?: number; stepSeconds?: number } = {}) {
  const grpo = opts.grpoSteps ?? 16;
  const dt = opts.stepSeconds ?? 2;
  const plan: [AxisStage['kind'], number][] = [
    ['sft', sftSteps],
    ['grpo', grpo],
    ['verify', 0],
    ['dpo', 10],
    ['grpo', grpo],
  ];
  const stages: AxisStage[] = [];
  const points: { name: string; step: number; wall_s: number; stage_id: number; ordinal: number }[] = [];
  const prompts: RunAxes['prompts'] = [];
  let step = 0;
  plan.forEach(([kind, steps], ordinal) => {
    const id = runId * 100 + ordinal;
    const first = steps ? step : null;
    for (let i = 0; i < steps; i++, step++) {
      points.push({ name: `${kind}/loss`, step, wall_s: (i + 1) * dt, stage_id: id, ordinal });
      if (kind === 'grpo') prompts.push({ step, n: 4 });
    }
    const train = steps * dt + 0.5;
    // Eval after the stage: at the last step, 3 s after training ended.
    if (kind !== 'verify') points.push({ name: 'val/accuracy', step: Math.max(0, step - 1), wall_s: train + 3, stage_id: id, ordinal });
    stages.push({ id, kind, ordinal, first_step: first ?? (kind === 'verify' ? null : Math.max(0, step - 1)), last_step: steps ? step - 1 : kind === 'verify' ? null : Math.max(0, step - 1), train_s: train });
  });
  return { axes: { run_id: runId, stages, prompts } satisfies RunAxes, points };
}

const xs = (r: ReturnType<typeof run>, axis: Parameters<typeof axisMapper>[1], name: string) => {
  const map = axisMapper(r.axes, axis);
  return r.points.filter((p) => p.name === name).map((p) => map(p, p.name));
};

describe('comparison axes', () => {
  it('RL step: runs with different SFT lengths overlap; SFT steps are not on the axis', () => {
    const a = run(1, 150);
    const b = run(2, 400);
    expect(xs(a, 'rl_step', 'grpo/loss')).toEqual(xs(b, 'rl_step', 'grpo/loss'));
    expect(xs(a, 'rl_step', 'grpo/loss').slice(0, 3)).toEqual([1, 2, 3]);
    // Raw steps never overlap: 150–165 vs 400–415.
    expect(xs(a, 'step', 'grpo/loss')[0]).toBe(150);
    expect(xs(b, 'step', 'grpo/loss')[0]).toBe(400);
    expect(xs(a, 'rl_step', 'sft/loss').every((x) => x === null)).toBe(true);
    // Validation after SFT is the RL starting point; later ones sit at their stage's end.
    expect(xs(a, 'rl_step', 'val/accuracy')).toEqual([0, 16, 26, 42]);
  });

  it('RL step of one chosen stage kind counts only that kind', () => {
    const a = run(1, 150);
    const map = axisMapper(a.axes, 'rl_step', ['grpo']);
    const grpo = a.points.filter((p) => p.name === 'grpo/loss').map((p) => map(p, p.name));
    expect(grpo.at(-1)).toBe(32);
    expect(a.points.filter((p) => p.name === 'dpo/loss').map((p) => map(p, p.name))).toEqual(Array(10).fill(null));
  });

  it('RL wall-clock is cumulative across stages, monotonic within a run, without SFT or eval time', () => {
    const a = run(1, 150);
    const all = a.points.filter((p) => p.ordinal > 0).sort((p, q) => p.ordinal - q.ordinal || p.step - q.step || p.wall_s - q.wall_s);
    const map = axisMapper(a.axes, 'rl_wall');
    const x = all.map((p) => map(p, p.name)!);
    for (let i = 1; i < x.length; i++) expect(x[i]!).toBeGreaterThanOrEqual(x[i - 1]!);
    // Raw wall_s restarts per stage (the zig-zag this axis removes).
    expect(all.map((p) => p.wall_s).some((w, i, arr) => i > 0 && w < arr[i - 1]!)).toBe(true);
    // The end of the run is the sum of RL training seconds (16·2+0.5, 0.5, 10·2+0.5, 16·2+0.5): the max_seconds clock.
    expect(Math.max(...x)).toBeCloseTo(32.5 + 0.5 + 20.5 + 32.5, 6);
  });

  it('prompts seen counts GRPO prompts cumulatively', () => {
    const a = run(1, 20);
    expect(xs(a, 'prompts', 'grpo/loss').slice(0, 3)).toEqual([4, 8, 12]);
    expect(xs(a, 'prompts', 'grpo/loss').at(-1)).toBe(128);
  });

  it('a run without stages (an import) keeps its raw steps', () => {
    expect(axisMapper({ run_id: 9, stages: [], prompts: [] }, 'rl_step')({ step: 7, wall_s: null, stage_id: null }, 'reward')).toBe(7);
  });
});
