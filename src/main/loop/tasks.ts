// Benchmark task ids (`val-1000123-direction-video-d2`) back to tasks: rollouts and pairs keep
// only the id; frames, facts and answers are regenerated deterministically from it.
import { generateTask, type Task, type Modality, type Split } from '../video';
import type { Rollout as VerifierRollout } from '../verifier/types';
import type { Rollout } from '../../shared/api';

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

function benchmarkTask(id: string | null): Task | null {
  return id && isBenchmarkTaskId(id) ? taskFromId(id) : null;
}

/**
 * A stored rollout as the verifier reads it. The answer spec comes from the benchmark task when
 * there is one, else from what an import kept (ground truth, options, answer type). Each GRPO
 * step samples its own group, so the verifier's group is (step, prompt).
 */
export function toVerifierRollout(r: Rollout, index: number, taskOf: (id: string | null) => Task | null = benchmarkTask): VerifierRollout {
  const task = taskOf(r.task_id);
  const meta = (r.meta ?? {}) as { options?: string[]; answer_type?: 'mc' | 'numeric'; video?: string };
  return {
    index,
    promptId: `${r.step ?? ''}:${r.prompt_id}`,
    prompt: r.prompt,
    completion: r.text,
    spec: {
      answer: task?.answer ?? r.ground_truth ?? '',
      answerType: task?.answerType ?? meta.answer_type ?? (/^-?\d+(\.\d+)?$/.test(r.ground_truth ?? '') ? 'numeric' : 'mc'),
      options: task?.options ?? meta.options ?? null,
    },
    truncated: r.truncated,
    video: meta.video,
  };
}
