// Trainers' native record shapes, detected and mapped onto the flat rollout fields
// (prompt, completion, ground_truth, problem_type, options, video, system, prompt_id,
// reward, truncated) that rollouts.ts validates. Shapes, from each trainer's writer:
//   trl      GRPOTrainer's completions/completions_NNNNN.parquet (log_completions): step,
//            prompt (chat-templated text or messages), completion, one column per reward
//            function, advantage. No ground truth: join one with --dataset, or only the
//            checks that need none run.
//   verl     the rollout dump (trainer.rollout_data_dir, {step}.jsonl): input, output, gts,
//            score, step (+ reward extra infos); or dataset rows (prompt messages,
//            reward_model.ground_truth, data_source, extra_info) carrying responses.
//   easyr1   its generation log (input, output, label, score) or dataset rows (problem,
//            answer, videos/images) with a response.
//   videor1  Video-R1's eval output {"results": [...]}: problem_id, problem, problem_type,
//            options, solution ("<answer>B</answer>"), path (the video), output, prediction.
//   openr1   Open-R1 generations: problem, answer|solution, generations (one list per
//            prompt), finish_reasons.
//   flat     one rollout per record with the fields above (and their usual synonyms).
export const FORMATS = ['trl', 'verl', 'easyr1', 'videor1', 'openr1', 'flat'] as const;
export type FormatName = (typeof FORMATS)[number];

/** Formats whose files usually hold no ground truth: rollouts without one are verified by the checks that need none. */
export const TRUTH_OPTIONAL: ReadonlySet<FormatName> = new Set(['trl', 'verl', 'easyr1', 'openr1']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const has = (o: Obj, ...keys: string[]) => keys.every((k) => o[k] !== undefined && o[k] !== null);

/** The format one record looks like, and the fields that told. */
export function detectFormat(record: unknown): { format: FormatName; why: string } {
  if (!isObj(record)) return { format: 'flat', why: 'not an object' };
  if (Array.isArray(record.generations)) return { format: 'openr1', why: 'a "generations" list per prompt' };
  if (isObj(record.reward_model) || (has(record, 'data_source') && Array.isArray(record.prompt))) return { format: 'verl', why: 'dataset rows with reward_model.ground_truth / data_source' };
  if (has(record, 'input', 'output', 'label')) return { format: 'easyr1', why: 'input, output, label (EasyR1 generation log)' };
  if (has(record, 'input', 'output') && (has(record, 'gts') || has(record, 'score') || has(record, 'step'))) return { format: 'verl', why: 'input, output, gts/score/step (verl rollout dump)' };
  if (has(record, 'problem', 'output')) return { format: 'videor1', why: 'problem, output, solution (Video-R1 eval output)' };
  if (has(record, 'problem', 'answer') && (has(record, 'response') || has(record, 'responses'))) return { format: 'easyr1', why: 'problem, answer, response (EasyR1 dataset rows)' };
  if (has(record, 'prompt', 'completion') && (has(record, 'step') || has(record, 'advantage')) && !has(record, 'ground_truth') && !has(record, 'solution') && !has(record, 'answer'))
    return { format: 'trl', why: 'step, prompt, completion, advantage (TRL completions log)' };
  return { format: 'flat', why: 'prompt/question/problem, completion/response, ground_truth/answer/solution fields' };
}

// ------------------------------------------------------------------ chat templates

export interface ChatText {
  user: string;
  system?: string;
}

export const VISION_TOKENS = /<\|vision_start\|>|<\|vision_end\|>|<\|video_pad\|>|<\|image_pad\|>|<video>|<image>/g;

/**
 * The system and (last) user turn of a prompt the trainer logged after applying the chat
 * template: ChatML (Qwen: <|im_start|>role … <|im_end|>) or Llama 3 (<|start_header_id|>);
 * any other text is the user turn itself.
 */
export function splitChatTemplate(text: string): ChatText {
  const turns: { role: string; content: string }[] = [];
  if (text.includes('<|im_start|>')) {
    for (const part of text.split('<|im_start|>').slice(1)) {
      const nl = part.indexOf('\n');
      turns.push({ role: part.slice(0, nl).trim(), content: part.slice(nl + 1).split('<|im_end|>')[0] });
    }
  } else if (text.includes('<|start_header_id|>')) {
    for (const part of text.split('<|start_header_id|>').slice(1)) {
      const [role, rest = ''] = part.split('<|end_header_id|>');
      turns.push({ role: role.trim(), content: rest.split('<|eot_id|>')[0] });
    }
  }
  if (!turns.length) return { user: text };
  const clean = (s: string) => s.replace(VISION_TOKENS, '').trim();
  const users = turns.filter((t) => t.role === 'user');
  const system = turns.find((t) => t.role === 'system');
  return { user: clean(users.length ? users[users.length - 1].content : text), ...(system ? { system: clean(system.content) } : {}) };
}

type Message = { role?: unknown; content?: unknown };
export const isMessages = (v: unknown): v is Message[] => Array.isArray(v) && v.length > 0 && v.every((m) => isObj(m) && 'content' in m);

/** The text of a message content: a string, or the text parts of a list (TRL / Qwen-VL content parts). */
export function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const texts = content.map((p) => (typeof p === 'string' ? p : isObj(p) && typeof p.text === 'string' ? p.text : null)).filter((t): t is string => t !== null);
    return texts.length ? texts.join('') : null;
  }
  return null;
}

/** A video named inside message content parts ({"type": "video", "video": path}). */
function contentVideo(messages: Message[]): string | undefined {
  for (const m of messages) {
    if (!Array.isArray(m.content)) continue;
    for (const p of m.content) if (isObj(p) && p.type === 'video' && typeof (p.video ?? p.path) === 'string') return (p.video ?? p.path) as string;
  }
  return undefined;
}

/** A prompt field (templated text or messages) split into user text, system prompt and video. */
function readPrompt(v: unknown): { prompt?: unknown; system?: string; video?: string } {
  if (typeof v === 'string') {
    const t = splitChatTemplate(v);
    return { prompt: t.user, ...(t.system ? { system: t.system } : {}) };
  }
  if (isMessages(v)) {
    const system = v.find((m) => m.role === 'system');
    const sys = system ? contentText(system.content) : null;
    const video = contentVideo(v);
    return { prompt: v.filter((m) => m.role !== 'system'), ...(sys ? { system: sys } : {}), ...(video ? { video } : {}) };
  }
  return { prompt: v };
}

/** A video from verl/EasyR1 multimodal columns: ["a.mp4"] or [{"video": "a.mp4"}]. */
function firstVideo(v: unknown): string | undefined {
  const first = Array.isArray(v) ? v[0] : v;
  if (typeof first === 'string') return first;
  if (isObj(first) && typeof (first.video ?? first.path) === 'string') return (first.video ?? first.path) as string;
  return undefined;
}

const truthText = (v: unknown): unknown => (Array.isArray(v) && v.length === 1 ? v[0] : Array.isArray(v) || isObj(v) ? JSON.stringify(v) : v);
const defined = (o: Obj): Obj => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));

/** One native record → one or more flat records (Open-R1 and verl dataset rows hold several completions). */
export function toFlat(format: FormatName, r: Obj): Obj[] {
  switch (format) {
    case 'trl': {
      const p = readPrompt(r.prompt);
      const rewards = Object.entries(r).filter(([k, v]) => typeof v === 'number' && !['step', 'advantage'].includes(k));
      const reward = rewards.length === 1 ? rewards[0][1] : typeof r.reward === 'number' ? r.reward : undefined;
      return [defined({ ...r, ...p, video: p.video ?? r.video, reward })];
    }
    case 'verl': {
      if (has(r, 'input', 'output')) {
        const p = readPrompt(r.input);
        return [defined({ ...p, completion: r.output, ground_truth: truthText(r.gts), reward: typeof r.score === 'number' ? r.score : undefined, step: r.step, prompt_id: r.uid ?? r.index, video: p.video })];
      }
      const p = readPrompt(r.prompt);
      const rm = isObj(r.reward_model) ? r.reward_model : {};
      const extra = isObj(r.extra_info) ? r.extra_info : {};
      const base = defined({ ...p, ground_truth: truthText(rm.ground_truth), prompt_id: extra.index ?? extra.id, video: p.video ?? firstVideo(r.videos), data_source: r.data_source, problem_type: r.problem_type, options: r.options });
      return completions(r.responses ?? r.response ?? r.output).map((c) => ({ ...base, completion: c }));
    }
    case 'easyr1': {
      if (has(r, 'input')) {
        const p = readPrompt(r.input);
        return [defined({ ...p, completion: r.output, ground_truth: truthText(r.label), reward: typeof r.score === 'number' ? r.score : undefined })];
      }
      const base = defined({ prompt: r.problem ?? r.prompt, ground_truth: truthText(r.answer), video: firstVideo(r.videos), problem_type: r.problem_type, options: r.options });
      return completions(r.responses ?? r.response).map((c) => ({ ...base, completion: c }));
    }
    case 'videor1':
      return [defined({ prompt: r.problem, completion: r.output, ground_truth: r.solution ?? r.answer, problem_type: r.problem_type, options: r.options, video: r.path ?? r.video, prompt_id: r.problem_id, reward: typeof r.reward === 'number' ? r.reward : undefined })];
    case 'openr1': {
      const p = readPrompt(r.problem ?? r.prompt ?? r.messages);
      // A record given as openr1 without a generations list has no completion (an InputError upstream).
      const gens: unknown[] = Array.isArray(r.generations) ? r.generations : [];
      const finish = Array.isArray(r.finish_reasons) ? r.finish_reasons : [];
      const base = defined({ ...p, ground_truth: r.answer ?? r.solution, prompt_id: r.uuid ?? r.problem_id ?? r.id, problem_type: r.problem_type, options: r.options });
      return gens.map((g, i) => defined({ ...base, completion: g, finish_reason: finish[i] }));
    }
    default:
      return [r];
  }
}

function completions(v: unknown): unknown[] {
  if (Array.isArray(v) && !isMessages(v)) return v;
  return v === undefined || v === null ? [] : [v];
}
