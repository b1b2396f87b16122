// The verifier rubric: a declarative JSON document saying which checks run, their
// thresholds and weights, how preference pairs are built and how the LLM judge is asked.
// Rubrics are data — parsed and validated, never evaluated. Every field has a default,
// so `{}` is the paper's default rubric and a preset only states what it changes.
import { z } from 'zod';
import { REFLECTION_MARKERS } from '../answers/markers';

const weight = (w: number) => z.number().min(0).default(w).describe('Weight of this check in the verdict score (0 = reported but not scored).');
const enabled = (on = true) => z.boolean().default(on).describe('Run this check.');

export const DEFAULT_REFLECTION_PHRASES = REFLECTION_MARKERS;

export const DEFAULT_JUDGE_PROMPT = [
  'You are grading the reasoning of a video question-answering model.',
  'Question: {question}',
  'Model reasoning: {reasoning}',
  'Model answer: {answer}',
  'Ground truth: {ground_truth}',
  'Judge whether the reasoning is logically sound, stays consistent with itself, and actually supports the given answer.',
  'Reply with JSON only: {"score": <number from 0 to 1>, "consistent": <true|false>, "logical": <true|false>, "reason": "<one sentence>"}',
].join('\n');

const checks = z
  .strictObject({
    accuracy: z
      .strictObject({
        enabled: enabled(),
        weight: weight(1),
        min_score: z
          .number()
          .min(0)
          .max(1)
          .default(1)
          .describe('A numerical answer counts as correct when its mean relative accuracy (MRA) reaches this: 1 = within 5 % (a count must be exact, as in Video-R1); 0.75 = relative error < 0.25. Multiple choice is 0 or 1.'),
        regression_min_score: z.number().min(0).max(1).default(0.5).describe('Video-R1 "regression" answers: correct when their MRA reaches this.'),
        ocr_min_score: z.number().min(0).max(1).default(0.8).describe('Video-R1 "OCR" answers: correct when 1 - word error rate reaches this.'),
        free_form_min_score: z.number().min(0).max(1).default(0.5).describe('Video-R1 "free-form" answers: correct when the ROUGE-L F-measure reaches this.'),
      })
      .prefault({})
      .describe('Answer accuracy, the same rule as the GRPO accuracy reward.'),
    format: z
      .strictObject({ enabled: enabled(), weight: weight(0.5) })
      .prefault({})
      .describe('Exactly one <think>…</think> followed by one <answer>…</answer>.'),
    consistency: z
      .strictObject({
        enabled: enabled(),
        weight: weight(1),
        no_conclusion: z
          .enum(['pass', 'fail'])
          .default('pass')
          .describe('Verdict when the reasoning states no conclusion that can be read: pass (unknown is not inconsistent) or fail.'),
      })
      .prefault({})
      .describe('Thinking-answer consistency: does the conclusion reached inside <think> match the <answer>?'),
    repetition: z
      .strictObject({
        enabled: enabled(),
        weight: weight(0.5),
        ngram: z.number().int().min(1).max(16).default(4).describe('n of the repeated n-gram measure rep-n = 1 - distinct n-grams / all n-grams.'),
        max_ngram_repeat: z.number().min(0).max(1).default(0.3).describe('Repetitive when rep-n exceeds this.'),
        max_repeated_sentences: z.number().int().min(0).default(1).describe('Repetitive when more sentences than this are exact repeats of an earlier one.'),
        min_sentence_chars: z.number().int().min(1).default(16).describe('Shorter sentences ("Yes.", "So B.") are not counted as repeats.'),
      })
      .prefault({})
      .describe('Repeated n-grams and repeated sentences in the completion.'),
    length: z
      .strictObject({
        enabled: enabled(),
        weight: weight(0.25),
        min_words: z.number().int().min(0).default(20).describe('Reasoning shorter than this many words fails.'),
        max_words: z.number().int().min(1).default(4096).describe('Reasoning longer than this many words fails (and counts as truncated when the answer is missing).'),
        min_relative_to_median: z
          .number()
          .min(0)
          .default(0.5)
          .describe('Fails when shorter than this fraction of the median length of its prompt group (0 disables).'),
      })
      .prefault({})
      .describe('Length of the reasoning in words (CJK characters count one each), absolute and relative to the group.'),
    reflection: z
      .strictObject({
        enabled: enabled(),
        weight: weight(0),
        phrases: z.array(z.string().min(1)).default(DEFAULT_REFLECTION_PHRASES).describe('Self-correction phrases, matched case-insensitively inside <think>.'),
      })
      .prefault({})
      .describe('Reflection: the reasoning notices and revisits its own error ("wait", "let me re-check", "I was wrong").'),
    grounding: z
      .strictObject({
        enabled: enabled(),
        weight: weight(1),
        min_rate: z.number().min(0).max(1).default(0.8).describe('Fraction of checkable observations that must agree with the scene fact log.'),
      })
      .prefault({})
      .describe('Observations in the reasoning vs the scene fact log (built-in benchmark only; skipped for external rollouts).'),
    judge: z
      .strictObject({
        enabled: enabled(false),
        weight: weight(1),
        min_score: z.number().min(0).max(1).default(0.5).describe('The judge passes a rollout when its score reaches this.'),
        mode: z
          .enum(['override', 'score'])
          .default('override')
          .describe('override: the judge\'s "consistent" (and "correct", when it says) replace the rules\' verdict; score: the judge only adds its weighted score.'),
        required: z.boolean().default(true).describe('When a judge call fails the rollout is judge_failed and the command exits non-zero.'),
        max_consecutive_failures: z
          .number()
          .int()
          .min(1)
          .default(5)
          .describe('Circuit breaker: after this many failed calls in a row the judge is not called again for the rest of the run.'),
      })
      .prefault({})
      .describe('An LLM judge of the reasoning logic (connection settings under "judge").'),
  })
  .prefault({})
  .describe('Which checks run, with thresholds and weights.');

const pairs = z
  .strictObject({
    max_pairs_per_prompt: z.number().int().min(0).default(4).describe('At most this many pairs from one prompt group (reflective pairs included).'),
    prefer: z
      .enum(['longer', 'reflective', 'score'])
      .default('longer')
      .describe('Which good rollouts become "chosen" first: the longest, reflective ones (then longest), or the highest verdict score.'),
    hard_negatives: z.boolean().default(true).describe('Prefer rejected rollouts with the right answer but inconsistent reasoning, then ones of similar length to the chosen.'),
    similar_length_tolerance: z
      .number()
      .min(0)
      .default(0.3)
      .describe('"Similar length" means |len(rejected) - len(chosen)| <= tolerance * len(chosen).'),
    reject_when: z
      .array(z.enum(['wrong', 'inconsistent', 'repetitive', 'truncated', 'unformatted', 'ungrounded', 'misread', 'judge_failed']))
      .default(['wrong', 'inconsistent', 'repetitive', 'truncated', 'misread'])
      .describe(
        'A rollout may be "rejected" when any of these hold. ungrounded: the grounding check fails (rate below min_rate); misread: at least one reading the chain did not take back contradicts the scene fact log.',
      ),
    require_formatted_chosen: z.boolean().default(true).describe('A "chosen" rollout must also pass the format check.'),
    require_grounded_chosen: z
      .boolean()
      .default(true)
      .describe('A "chosen" rollout must have every reading it keeps supported by the scene fact log (a reading it corrects with "wait ," does not count); when the grounding check is skipped this does not apply.'),
    reflective: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Build reflective pairs (a self-corrected chain over the failed attempt).'),
        construct: z
          .boolean()
          .default(true)
          .describe('When no rollout of the group reflects on its own, construct one: failed attempt + reflection + a correct rollout\'s reasoning.'),
        max_per_prompt: z.number().int().min(0).default(1),
        reflection_text: z.string().default('Wait, let me re-check this.').describe('Inserted between the failed attempt and the correct chain of a constructed pair.'),
      })
      .prefault({}),
  })
  .prefault({})
  .describe('How preference pairs are built from each prompt group.');

const judge = z
  .strictObject({
    base_url: z.string().default('http://127.0.0.1:11434').describe('OpenAI-compatible server (Ollama, vLLM, llama.cpp server, LM Studio); /v1/chat/completions is appended.'),
    model: z.string().default('qwen2.5:7b-instruct'),
    api_key: z.string().optional().describe('Sent as "Authorization: Bearer …" when set.'),
    prompt_template: z
      .string()
      .default(DEFAULT_JUDGE_PROMPT)
      .describe('User message; {question}, {reasoning}, {answer} and {ground_truth} are replaced. The reply must be JSON with score, consistent, logical, reason.'),
    system_prompt: z.string().default('You are a strict, fair grader. Reply with JSON only.'),
    temperature: z.number().min(0).max(2).default(0),
    max_tokens: z.number().int().min(1).default(256),
    timeout_ms: z.number().int().min(1).default(30000),
    retries: z.number().int().min(0).max(10).default(2).describe('Retries after a failed call, with exponential backoff.'),
    backoff_ms: z.number().int().min(0).default(500).describe('First retry delay; doubles each retry.'),
    concurrency: z.number().int().min(1).max(64).default(4).describe('Requests in flight at once.'),
    cache_dir: z.string().optional().describe('Also cache verdicts on disk here (one JSON file per content hash).'),
  })
  .prefault({})
  .describe('LLM judge connection and prompt.');

export const rubricSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().default('default'),
    version: z.number().int().min(1).default(1),
    description: z.string().default(''),
    checks,
    pairs,
    judge,
  })
  .describe('VerIPO Rollout-Aware Verifier rubric.');

export type Rubric = z.output<typeof rubricSchema>;

export interface RubricError {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export class RubricParseError extends Error {
  constructor(
    readonly file: string,
    readonly errors: RubricError[],
  ) {
    super(errors.map((e) => `${file}${e.line ? `:${e.line}:${e.column}` : ''}: ${e.path ? `${e.path}: ` : ''}${e.message}`).join('\n'));
  }
}

export function defaultRubric(): Rubric {
  return rubricSchema.parse({});
}

/** Parse and validate a rubric; errors name the JSON path and, when found, line and column. */
export function parseRubric(text: string, file = '<rubric>'): Rubric {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const lc = pos ? lineColumn(text, Number(pos[1])) : undefined;
    throw new RubricParseError(file, [{ path: '', message: `invalid JSON: ${msg}`, ...lc }]);
  }
  const result = rubricSchema.safeParse(data);
  if (result.success) return result.data;
  const offsets = jsonValueOffsets(text);
  const errors = result.error.issues.map((issue) => {
    const segs = issue.path.map(String);
    // unknown keys are reported on the object; point at the key itself when we can
    if (issue.code === 'unrecognized_keys' && issue.keys.length) segs.push(issue.keys[0]);
    const path = segs.join('.');
    let at = offsets.get(path);
    for (let k = segs.length - 1; at === undefined && k >= 0; k--) at = offsets.get(segs.slice(0, k).join('.'));
    return { path: issue.path.map(String).join('.'), message: issue.message, ...(at !== undefined ? lineColumn(text, at) : {}) };
  });
  throw new RubricParseError(file, errors);
}

/** JSON Schema of the rubric for editors (Monaco): input shape, so defaulted fields are optional. */
export function rubricJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(rubricSchema, { io: 'input' }) as Record<string, unknown>;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Offsets of every value (and of every object key, under the same path) in a valid JSON
 * text, by dotted path ("checks.repetition.ngram", "pairs.reject_when.1"), so schema
 * errors can point at a line. Keys map to the key's own offset.
 */
export function jsonValueOffsets(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const str = () => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string[]) => {
    ws();
    const key = path.join('.');
    if (!out.has(key)) out.set(key, i);
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        const keyAt = i;
        const k = str();
        out.set([...path, k].join('.'), keyAt);
        ws();
        i++; // ':'
        value([...path, k]);
        ws();
        if (text[i++] === '}') return;
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (let n = 0; ; n++) {
        value([...path, String(n)]);
        ws();
        if (text[i++] === ']') return;
      }
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && /[^\s,\]}]/.test(text[i])) i++;
    }
  };
  value([]);
  return out;
}
