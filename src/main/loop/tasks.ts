// Benchmark task ids (`val-1000123-direction-video-d2`) back to tasks: rollouts and pairs keep
// only the id; frames, facts and answers are regenerated deterministically from it.
import { generateTask, type Task, type Modality, type Split } from '../video';

const TASK_ID = /^(train|val|test)-(\d+)-([a-z_]+)-(video|image|text)-d([1-3])$/;

export function isBenchmarkTaskId(id: string): boolean {
  return TASK_ID.test(id);
}

export function taskFromId(id: string): Task {
  const m = TASK_ID.exec(id);
  if (!m) throw new Error(`"${id}" is not a benchmark task id (expected split-seed-family-modality-dN)`);
  const task = generateTask(Number(m[2]), { split: m[1] as Split, family: m[3], modality: m[4] as Modality, difficulty: Number(m[5]) });
  if (task.id !== id) throw new Error(`task id ${id} regenerates as ${task.id}`);
  return task;
}
