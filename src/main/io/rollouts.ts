// Rollouts from other trainers (TRL, verl/EasyR1, Video-R1) normalised to the verifier's
// Rollout. Field names accepted, first match wins:
//   prompt:       prompt | question | problem   (string, or TRL conversational messages)
//   completion:   completion | model_output | response   (string, or messages: the assistant's content)
//   ground truth: ground_truth | answer | solution   (Video-R1's "<answer>B</answer>" is unwrapped)
//   group:        prompt_id | question_id | group_id | problem_id (Video-R1)  (else rollouts with the same prompt text form a group)
//   optional:     reward, problem_type ("multiple choice" | "numerical" | "regression"), options,
//                 video | path | video_path, truncated | finish_reason ("length" = truncated)
import { optionsFromQuestion } from '../answers/options';
import { answerTypeOf, type AnswerSpec } from '../answers/spec';
import type { Rollout } from '../verifier/types';
import { InputError, readJsonl, type LineProblem, type OnError } from './jsonl';

export interface SourcedRollout extends Rollout {
  /** 1-based line in the source file */
  line: number;
}

/** One input record: a rollout, or the reason its line could not be used. */
export type RolloutRecord = { ok: true; index: number; line: number; rollout: SourcedRollout } | { ok: false; index: number; line: number; error: string };

const PROMPT_KEYS = ['prompt', 'question', 'problem'] as const;
const COMPLETION_KEYS = ['completion', 'model_output', 'response'] as const;
const TRUTH_KEYS = ['ground_truth', 'answer', 'solution'] as const;
const GROUP_KEYS = ['prompt_id', 'question_id', 'group_id', 'problem_id'] as const;
const VIDEO_KEYS = ['video', 'video_path', 'path'] as const;

type Message = { role?: unknown; content?: unknown };

function pick(obj: Record<string, unknown>, keys: readonly string[]): { key: string; value: unknown } | null {
  for (const k of keys) if (obj[k] !== undefined && obj[k] !== null) return { key: k, value: obj[k] };
  return null;
}

/** Text of a message content: a string, or a list of parts of which the text ones count. */
function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const texts = content
      .map((part) => (typeof part === 'string' ? part : part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : null))
      .filter((t): t is string => t !== null);
    return texts.length ? texts.join('') : null;
  }
  return null;
}

function isMessages(v: unknown): v is Message[] {
  return Array.isArray(v) && v.length > 0 && v.every((m) => m && typeof m === 'object' && 'content' in m);
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

function answerType(problemType: unknown, truth: string, options: string[] | null, question: string, fail: (msg: string) => never): AnswerSpec['answerType'] {
  if (typeof problemType === 'string') {
    const t = answerTypeOf(problemType);
    if (t) return t;
    fail(`field "problem_type": "${problemType}" is not supported (multiple choice, numerical, regression, OCR, free-form)`);
  }
  if (options && options.length) return 'mc';
  if (/^\(?[A-Za-z]\)?\.?$/.test(truth)) return 'mc';
  if (/^-?\d+(?:,\d{3})*(?:\.\d+)?$/.test(truth)) return 'numeric';
  if (optionsFromQuestion(question).length) return 'mc';
  return 'free';
}

/** Normalise one parsed JSONL value; throws InputError naming file, line and field. */
export function normaliseRollout(value: unknown, file: string, line: number, index: number): SourcedRollout {
  const fail = (msg: string): never => {
    throw new InputError(file, line, msg);
  };
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail('expected a JSON object');
  const obj = value as Record<string, unknown>;

  const p = pick(obj, PROMPT_KEYS) ?? fail(`missing field "prompt" (or "question", "problem")`);
  const prompt = promptText(p.value) ?? fail(`field "${p.key}": expected a string or a list of {role, content} messages`);

  const c = pick(obj, COMPLETION_KEYS) ?? fail(`missing field "completion" (or "model_output", "response")`);
  const completion = completionText(c.value) ?? fail(`field "${c.key}": expected a string or a list of assistant {role, content} messages`);

  const t = pick(obj, TRUTH_KEYS) ?? fail(`missing field "ground_truth" (or "answer", "solution")`);
  if (typeof t.value !== 'string' && typeof t.value !== 'number') fail(`field "${t.key}": expected a string or a number`);
  const raw = String(t.value);
  const inner = /<answer>([\s\S]*?)<\/answer>/i.exec(raw);
  const truth = (inner ? inner[1] : raw).trim();
  if (!truth) fail(`field "${t.key}" is empty`);

  let options: string[] | null = null;
  if (obj.options !== undefined && obj.options !== null) {
    if (!Array.isArray(obj.options) || !obj.options.every((o) => typeof o === 'string')) fail('field "options": expected a list of strings');
    options = obj.options as string[];
  }
  const spec: AnswerSpec = { answer: truth, answerType: answerType(obj.problem_type, truth, options, prompt, fail), options, question: prompt };

  const g = pick(obj, GROUP_KEYS);
  if (g && typeof g.value !== 'string' && typeof g.value !== 'number') fail(`field "${g.key}": expected a string or a number`);
  let reward: number | undefined;
  if (obj.reward !== undefined && obj.reward !== null) {
    if (typeof obj.reward !== 'number' || !Number.isFinite(obj.reward)) fail('field "reward": expected a number');
    reward = obj.reward as number;
  }
  const v = pick(obj, VIDEO_KEYS);
  if (v && typeof v.value !== 'string') fail(`field "${v.key}": expected a string path`);
  const truncated = typeof obj.truncated === 'boolean' ? obj.truncated : obj.finish_reason !== undefined ? obj.finish_reason === 'length' : undefined;

  // Video-R1 keeps options apart from the question; a preference pair needs them in the prompt
  const fullPrompt = options && options.length && !options.every((o) => prompt.includes(o)) ? `${prompt}\nOptions:\n${options.join('\n')}` : prompt;
  return {
    index,
    line,
    promptId: g ? String(g.value) : fullPrompt,
    prompt: fullPrompt,
    completion,
    spec,
    ...(reward !== undefined ? { reward } : {}),
    ...(truncated !== undefined ? { truncated } : {}),
    ...(v ? { video: v.value as string } : {}),
  };
}

export interface ReadRolloutsResult {
  records: RolloutRecord[];
  rollouts: SourcedRollout[];
  problems: LineProblem[];
}

/**
 * Every record of a rollouts JSONL file. onError 'fail' throws the first bad line
 * (malformed JSON or a missing/invalid field); 'skip' reports it and keeps going, and
 * the record list keeps a placeholder so outputs stay aligned with the input lines.
 */
export async function readRollouts(file: string, opts: { onError?: OnError; onProblem?: (p: LineProblem) => void } = {}): Promise<ReadRolloutsResult> {
  const onError = opts.onError ?? 'fail';
  const records: RolloutRecord[] = [];
  const problems: LineProblem[] = [];
  const report = (p: LineProblem) => {
    problems.push(p);
    records.push({ ok: false, index: records.length, line: p.line, error: p.message });
    opts.onProblem?.(p);
  };
  for await (const { line, value } of readJsonl(file, { onError, onProblem: report })) {
    try {
      records.push({ ok: true, index: records.length, line, rollout: normaliseRollout(value, file, line, records.length) });
    } catch (e) {
      if (!(e instanceof InputError) || onError === 'fail') throw e;
      report({ file, line, message: e.detail });
    }
  }
  const rollouts = records.flatMap((r) => (r.ok ? [r.rollout] : []));
  return { records, rollouts, problems };
}
