// Benchmark task ids (`val-1000123-direction-video-d2`) back to tasks: rollouts and pairs keep
// only the id; frames, facts and answers are regenerated deterministically from it.
import { generateTask, readingText, scoreGrounding, type Task, type Modality, type Split } from '../video';
import type { GroundingFn, Rollout as VerifierRollout } from '../verifier/types';
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

/** taskFromId with each task generated once: a GRPO stage's rollouts repeat every prompt G times. */
export function cachedTaskOf(): (id: string | null) => Task | null {
  const tasks = new Map<string, Task>();
  return (id) => {
    if (!id) return null;
    if (!tasks.has(id)) tasks.set(id, taskFromId(id));
    return tasks.get(id)!;
  };
}

function benchmarkTask(id: string | null): Task | null {
  return id && isBenchmarkTaskId(id) ? taskFromId(id) : null;
}

/**
 * A stored rollout as the verifier reads it. The answer spec comes from the benchmark task when
 * there is one, else from what an import kept (ground truth, options, answer type). Each GRPO
 * step samples its own group, so the verifier's group is (step, prompt).
 */
export function toVerifierRollout(r: Pick<Rollout, 'step' | 'prompt_id' | 'task_id' | 'prompt' | 'text' | 'ground_truth' | 'truncated' | 'meta'>, index: number, taskOf: (id: string | null) => Task | null = benchmarkTask): VerifierRollout {
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

/**
 * The verifier's grounding for benchmark rollouts: each reading against the task's fact log,
 * with the readings the chain corrected itself. `taskAt` maps a verifier rollout's index to
 * its task (null: not a benchmark rollout, nothing to check). Single-image tasks are not
 * checked: the image shows one frame (or a motion trail) while the fact log holds them all.
 */
export function benchmarkGrounding(taskAt: (index: number) => Task | null): GroundingFn {
  return (text, rollout) => {
    const task = taskAt(rollout.index);
    if (!task || task.modality === 'image') return null;
    const g = scoreGrounding(text, task.facts);
    return {
      total: g.total,
      grounded: g.grounded,
      rate: g.rate,
      ungrounded: g.ungrounded.map((c) => c.span),
      misread: g.ungrounded.map(readingText),
      corrected: g.corrections.map((c) => readingText(c.wrong)),
    };
  };
}
