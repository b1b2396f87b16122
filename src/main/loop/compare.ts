// Side-by-side final metrics of runs, and how long each took to reach its best val accuracy.
import type { Db } from '../store';
import { getRun } from '../store';
import type { ValMetrics } from '../../shared/api';

export interface RunComparison {
  run_id: number;
  preset: string | null;
  seed: number;
  status: string;
  wall_s: number | null;
  final: ValMetrics | null;
  best_accuracy: number | null;
  time_to_best_s: number | null;
  /** Cumulative wall seconds at which each evaluated stage finished, with its val accuracy. */
  curve: { wall_s: number; accuracy: number; kind: string; iteration: number }[];
}

export function compareRuns(db: Db, runIds: number[]): RunComparison[] {
  return runIds.map((id) => {
    const run = getRun(db, id);
    if (!run) throw new Error(`run ${id} does not exist`);
    let elapsed = 0;
    const curve: RunComparison['curve'] = [];
    for (const s of run.stages) {
      elapsed += s.wall_s ?? 0;
      if (s.val) curve.push({ wall_s: elapsed, accuracy: s.val.accuracy, kind: s.kind, iteration: s.iteration });
    }
    let best: (typeof curve)[number] | null = null;
    for (const p of curve) if (!best || p.accuracy > best.accuracy) best = p;
    return {
      run_id: id,
      preset: run.preset,
      seed: run.seed,
      status: run.status,
      wall_s: run.wall_s,
      final: run.final_val,
      best_accuracy: best?.accuracy ?? null,
      time_to_best_s: best?.wall_s ?? null,
      curve,
    };
  });
}
