// Rollouts from other trainers (TRL, verl/EasyR1, Video-R1, Open-R1) normalised to the
// verifier's Rollout. The file's container (JSONL, JSON document, parquet) and its trainer
// format are detected (or given) and each native record mapped to these flat fields
// (formats.ts); field names accepted, first match wins:
//   prompt:       prompt | question | problem   (string, or TRL conversational messages)
//   completion:   completion | model_output | response | output   (string, or messages: the assistant's content)
//   ground truth: ground_truth | answer | solution   (Video-R1's "<answer>B</answer>" is unwrapped)
//   group:        prompt_id | question_id | group_id | problem_id  (else rollouts with the same prompt text form a group)
//   optional:     reward, problem_type (multiple choice | numerical | regression | OCR | free-form), options,
//                 video | video_path | path | videos, system, truncated | finish_reason ("length" = truncated)
import { optionsFromQuestion } from '../answers/options';
import { answerRegion, statedNumber } from '../answers/read';
import { answerTypeOf, type AnswerSpec } from '../answers/spec';
import type { Rollout } from '../verifier/types';
import { joinTruth, type TruthIndex } from './dataset-join';
import { contentText, detectFormat, isMessages, toFlat, TRUTH_OPTIONAL, VISION_TOKENS, type FormatName } from './formats';
import { InputError, type LineProblem, type OnError } from './jsonl';
import { detectContainer, readSource, type Container } from './source';

export interface SourcedRollout extends Rollout {
  /** 1-based line in the source file */
  line: number;
}

/** One input record: a rollout, or the reason its line could not be used. */
export type RolloutRecord = { ok: true; index: number; line: number; rollout: SourcedRollout } | { ok: false; index: number; line: number; error: string };

const PROMPT_KEYS = ['prompt', 'question', 'problem'] as const;
const COMPLETION_KEYS = ['completion', 'model_output', 'response', 'output'] as const;
const TRUTH_KEYS = ['ground_truth', 'answer', 'solution'] as const;
const GROUP_KEYS = ['prompt_id', 'question_id', 'group_id', 'problem_id'] as const;
const VIDEO_KEYS = ['video', 'video_path', 'path', 'videos'] as const;


function pick(obj: Record<string, unknown>, keys: readonly string[]): { key: string; value: unknown } | null {
  for (const k of keys) if (obj[k] !== undefined && obj[k] !== null) return { key: k, value: obj[k] };
  return null;
}


/** The prompt as text: a string, or the last user message of a conversation. */
function promptText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (isMessages(v)) {
    const users = v.filter((m) => m.role === 'user');
    const m = users.length ? users[users.length - 1] : v[v.length - 1];
    return contentText(m.content);
  }
  return null;
}

/** The completion as text: a string, or the assistant messages' content (TRL conversational). */
function completionText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (isMessages(v)) {
    const assistant = v.filter((m) => m.role === 'assistant' || m.role === undefined);
    if (!assistant.length) return null;
    const parts = assistant.map((m) => contentText(m.content));
    return parts.every((p) => p !== null) ? parts.join('\n') : null;
  }
  return null;
}

function answerType(problemType: unknown, truth: string, options: string[] | null, question: string, completion: string, fail: (msg: string) => never): AnswerSpec['answerType'] {
  if (typeof problemType === 'string') {
    const t = answerTypeOf(problemType);
    if (t) return t;
    fail(`field "problem_type": "${problemType}" is not supported (multiple choice, numerical, regression, OCR, free-form)`);
  }
  if (options && options.length) return 'mc';
  if (/^\(?[A-Za-z]\)?\.?$/.test(truth)) return 'mc';
  if (/^-?\d+(?:,\d{3})*(?:\.\d+)?$/.test(truth)) return 'numeric';
  if (optionsFromQuestion(question).length) return 'mc';
  // no ground truth to tell by: a numeric answer makes a numeric question
  if (!truth) {
    const region = answerRegion(completion);
    if (region && statedNumber(region.text) !== null) return 'numeric';
  }
  return 'free';
}

export interface NormaliseOptions {
  /** a missing ground truth is allowed (TRL logs): the rollout gets only the checks that need none */
  truthOptional?: boolean;
  unit?: 'line' | 'row';
}

/** Normalise one flat record; throws InputError naming file, line and field. */
export function normaliseRollout(value: unknown, file: string, line: number, index: number, opts: NormaliseOptions = {}): SourcedRollout {
  const fail = (msg: string): never => {
    throw new InputError(file, line, msg, opts.unit);
  };
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail('expected a JSON object');
  const obj = value as Record<string, unknown>;

  const p = pick(obj, PROMPT_KEYS) ?? fail(`missing field "prompt" (or "question", "problem")`);
  const prompt = promptText(p.value) ?? fail(`field "${p.key}": expected a string or a list of {role, content} messages`);

  const c = pick(obj, COMPLETION_KEYS) ?? fail(`missing field "completion" (or "model_output", "response")`);
  const completion = completionText(c.value) ?? fail(`field "${c.key}": expected a string or a list of assistant {role, content} messages`);

  const t = pick(obj, TRUTH_KEYS);
  if (!t && !opts.truthOptional) fail(`missing field "ground_truth" (or "answer", "solution")`);
  if (t && typeof t.value !== 'string' && typeof t.value !== 'number') fail(`field "${t.key}": expected a string or a number`);
  const raw = t ? String(t.value) : '';
  const inner = /<answer>([\s\S]*?)<\/answer>/i.exec(raw);
  const truth = (inner ? inner[1] : raw).trim();
  if (t && !truth) fail(`field "${t.key}" is empty`);

  let options: string[] | null = null;
  if (obj.options !== undefined && obj.options !== null) {
    if (!Array.isArray(obj.options) || !obj.options.every((o) => typeof o === 'string')) fail('field "options": expected a list of strings');
    options = obj.options as string[];
  }
  const spec: AnswerSpec = { answer: truth, answerType: answerType(obj.problem_type, truth, options, prompt, completion, fail), options, question: prompt };

  const g = pick(obj, GROUP_KEYS);
  if (g && typeof g.value !== 'string' && typeof g.value !== 'number') fail(`field "${g.key}": expected a string or a number`);
  let reward: number | undefined;
  if (obj.reward !== undefined && obj.reward !== null) {
    if (typeof obj.reward !== 'number' || !Number.isFinite(obj.reward)) fail('field "reward": expected a number');
    reward = obj.reward as number;
  }
  const v = pick(obj, VIDEO_KEYS);
  const video = v ? (Array.isArray(v.value) && typeof v.value[0] === 'string' ? v.value[0] : v.value) : undefined;
  if (v && typeof video !== 'string') fail(`field "${v.key}": expected a string path`);
  if (obj.system !== undefined && typeof obj.system !== 'string') fail('field "system": expected a string');
  const truncated = typeof obj.truncated === 'boolean' ? obj.truncated : obj.finish_reason !== undefined ? obj.finish_reason === 'length' : undefined;

  // the video travels as a path; exports put back the placeholder each trainer wants
  const question = video ? prompt.replace(VISION_TOKENS, '').trim() : prompt;
  // Video-R1 keeps options apart from the question; a preference pair needs them in the prompt
  const fullPrompt = options && options.length && !options.every((o) => question.includes(o)) ? `${question}\nOptions:\n${options.join('\n')}` : question;
  return {
    index,
    line,
    promptId: g ? String(g.value) : fullPrompt,
    prompt: fullPrompt,
    completion,
    spec,
    ...(reward !== undefined ? { reward } : {}),
    ...(truncated !== undefined ? { truncated } : {}),
    ...(video ? { video: video as string } : {}),
    ...(typeof obj.system === 'string' && obj.system ? { system: obj.system } : {}),
    ...(t ? {} : { hasTruth: false }),
  };
}

export interface ReadRolloutsResult {
  records: RolloutRecord[];
  rollouts: SourcedRollout[];
  problems: LineProblem[];
  /** what was read, and how it was recognised */
  detected: { container: Container; format: FormatName; why: string };
  /** rollouts with no ground truth (only the checks that need none run on them) */
  noTruth: number;
}

export type FormatChoice = FormatName | 'auto';

export interface ReadRolloutsOptions {
  onError?: OnError;
  onProblem?: (p: LineProblem) => void;
  format?: FormatChoice;
  /** ground truth joined from a dataset (TRL logs carry none) */
  truth?: TruthIndex;
}

/**
 * Every rollout of a trainer's output file. onError 'fail' throws the first bad record
 * (bytes not UTF-8, malformed JSON, a missing/invalid field); 'skip' reports it and keeps
 * going, and the record list keeps a placeholder so outputs stay aligned with the input.
 * A rollout's `index` is its position in `records`.
 */
export async function readRollouts(file: string, opts: ReadRolloutsOptions = {}): Promise<ReadRolloutsResult> {
  const onError = opts.onError ?? 'fail';
  const container = await detectContainer(file);
  const unit = container === 'parquet' ? 'row' : 'line';
  const records: RolloutRecord[] = [];
  const problems: LineProblem[] = [];
  const report = (p: LineProblem) => {
    problems.push(p);
    records.push({ ok: false, index: records.length, line: p.line, error: p.message });
    opts.onProblem?.(p);
  };
  let detected: { format: FormatName; why: string } | null = opts.format && opts.format !== 'auto' ? { format: opts.format, why: 'given with --format' } : null;
  for await (const { line, value } of readSource(file, container, { onError, onProblem: report })) {
    detected ??= detectFormat(value);
    try {
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new InputError(file, line, 'expected a JSON object', unit);
      const flats = toFlat(detected.format, value as Record<string, unknown>);
      if (!flats.length) throw new InputError(file, line, `no completion in this ${detected.format} record`, unit);
      for (const flat of flats) {
        const joined = opts.truth ? joinTruth(flat, opts.truth) : flat;
        const rollout = normaliseRollout(joined, file, line, records.length, { truthOptional: TRUTH_OPTIONAL.has(detected.format), unit });
        records.push({ ok: true, index: records.length, line, rollout });
      }
    } catch (e) {
      if (!(e instanceof InputError) || onError === 'fail') throw e;
      report({ file, line, message: e.detail });
    }
  }
  const rollouts = records.flatMap((r) => (r.ok ? [r.rollout] : []));
  const format = detected ?? { format: 'flat' as const, why: 'no records' };
  return { records, rollouts, problems, detected: { container, ...format }, noTruth: rollouts.filter((r) => r.hasTruth === false).length };
}
