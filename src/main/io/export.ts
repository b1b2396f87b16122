// Preference pairs out to the formats DPO trainers load as is:
// - TRL (DPOTrainer): standard {prompt, chosen, rejected} strings, or conversational
//   {prompt: [user msg], chosen: [assistant msg], rejected: [assistant msg]};
// - LLaMA-Factory (sharegpt, ranking: true): {conversations: [{from: "human", value}],
//   chosen: {from: "gpt", value}, rejected: {from: "gpt", value}, videos?: [path]},
//   with a "<video>" token in the human turn when there is a video, as it requires.
// Rows take a `videos` list where the pair has a video path (TRL ignores extra columns);
// TRL's conversational rows also name the video in the user turn's content
// ({"type": "video", "video": path} before the text, as Qwen-VL's processor and TRL's
// vision collators read it). The system prompt a rollout was generated with travels with
// its pairs: a system message (TRL conversational), a "system" column (TRL standard,
// LLaMA-Factory, whose dataset_info entry then maps it); --system overrides it.
// Pairs may come from a PAIRS.jsonl written by `veripo verify` or from the run database;
// both give PairRecord[] to exportPairs.
import { z } from 'zod';
import { PAIR_KINDS, type PairKind, type PairRecord } from '../verifier/pairs';
import type { Pair } from '../../shared/api';
import { InputError, readJsonl, writeFileAtomic, writeJsonlAtomic, type LineProblem, type OnError } from './jsonl';

export type ExportFormat = 'trl' | 'llamafactory';
export const EXPORT_FORMATS: ExportFormat[] = ['trl', 'llamafactory'];

export interface ExportOptions {
  /** TRL only: conversational (message lists) instead of standard (strings) */
  conversational?: boolean;
  /** system prompt for every row, overriding the pairs' own */
  system?: string;
}

export const pairRecordSchema = z.object({
  prompt_id: z.string().optional(),
  prompt: z.string(),
  chosen: z.string(),
  rejected: z.string(),
  kind: z.enum(PAIR_KINDS as [string, ...string[]]).default('standard'),
  reasons: z.array(z.string()).default([]),
  chosen_index: z.number().nullable().default(null),
  rejected_index: z.number().nullable().default(null),
  ground_truth: z.string().optional(),
  video: z.string().optional(),
  system: z.string().optional(),
});

export function exportPairs(pairs: PairRecord[], format: ExportFormat, opts: ExportOptions = {}): Record<string, unknown>[] {
  return pairs.map((p) => (format === 'trl' ? trlRow(p, opts) : llamaFactoryRow(p, opts)));
}

function trlRow(p: PairRecord, opts: ExportOptions): Record<string, unknown> {
  const videos = p.video ? { videos: [p.video] } : {};
  const system = opts.system ?? p.system;
  if (!opts.conversational) return { prompt: p.prompt, chosen: p.chosen, rejected: p.rejected, ...videos, ...(system ? { system } : {}) };
  const user = p.video ? [{ type: 'video', video: p.video }, { type: 'text', text: p.prompt }] : p.prompt;
  const prompt = [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content: user }];
  return {
    prompt,
    chosen: [{ role: 'assistant', content: p.chosen }],
    rejected: [{ role: 'assistant', content: p.rejected }],
    ...videos,
  };
}

function llamaFactoryRow(p: PairRecord, opts: ExportOptions): Record<string, unknown> {
  const human = p.video && !p.prompt.includes('<video>') ? `<video>${p.prompt}` : p.prompt;
  const system = opts.system ?? p.system;
  return {
    conversations: [{ from: 'human', value: human }],
    chosen: { from: 'gpt', value: p.chosen },
    rejected: { from: 'gpt', value: p.rejected },
    ...(system ? { system } : {}),
    ...(p.video ? { videos: [p.video] } : {}),
  };
}

/** The dataset_info.json entry LLaMA-Factory needs for an exported file. */
export function llamaFactoryDatasetInfo(name: string, fileName: string, hasVideos: boolean, hasSystem = false): Record<string, unknown> {
  return {
    [name]: {
      file_name: fileName,
      formatting: 'sharegpt',
      ranking: true,
      columns: { messages: 'conversations', chosen: 'chosen', rejected: 'rejected', ...(hasSystem ? { system: 'system' } : {}), ...(hasVideos ? { videos: 'videos' } : {}) },
    },
  };
}

/** Read a PAIRS.jsonl; bad lines fail or are skipped-and-reported, naming file, line and field. */
export async function readPairsFile(file: string, opts: { onError?: OnError; onProblem?: (p: LineProblem) => void } = {}): Promise<PairRecord[]> {
  const onError = opts.onError ?? 'fail';
  const out: PairRecord[] = [];
  for await (const { line, value } of readJsonl(file, { onError, onProblem: opts.onProblem })) {
    const r = pairRecordSchema.safeParse(value);
    if (r.success) {
      out.push({ prompt_id: r.data.prompt_id ?? r.data.prompt, ...r.data } as PairRecord);
      continue;
    }
    const issue = r.error.issues[0];
    const msg = `field "${issue.path.join('.') || '(root)'}": ${issue.message}`;
    if (onError === 'fail') throw new InputError(file, line, msg);
    opts.onProblem?.({ file, line, message: msg });
  }
  return out;
}

/** Write rows atomically: a JSON array for *.json, JSONL otherwise. */
export async function writeRows(file: string, rows: Record<string, unknown>[]): Promise<void> {
  if (file.toLowerCase().endsWith('.json')) await writeFileAtomic(file, `${JSON.stringify(rows, null, 1)}\n`);
  else await writeJsonlAtomic(file, rows);
}

/** A pair as the store keeps it (curated text, status, meta) → the record the exporters write. */
export function pairRecordFromStored(p: Pair): PairRecord {
  const meta = (p.meta ?? {}) as { ground_truth?: string; video?: string; system?: string };
  return {
    prompt_id: p.prompt_id,
    prompt: p.prompt,
    chosen: p.chosen_text,
    rejected: p.rejected_text,
    kind: (PAIR_KINDS as string[]).includes(p.kind) ? (p.kind as PairKind) : 'standard',
    reasons: p.reasons,
    chosen_index: p.chosen_rollout_id,
    rejected_index: p.rejected_rollout_id,
    ...(meta.ground_truth ? { ground_truth: meta.ground_truth } : {}),
    ...(meta.video ? { video: meta.video } : {}),
    ...(meta.system ? { system: meta.system } : {}),
  };
}
