// Ground truth for rollouts whose log has none (TRL's completions log: step, prompt,
// completion, rewards, advantage), joined from the dataset they were sampled from:
// `--dataset FILE --id-field NAME`. A rollout whose record has the id field matches by
// value; otherwise by its prompt text, which must equal the dataset field's text or
// contain it (TRL logs the prompt after the chat template and the question text).
import { normaliseText } from '../answers/options';
import { detectFormat, toFlat } from './formats';
import { InputError } from './jsonl';
import { detectContainer, readSource } from './source';

export interface TruthEntry {
  ground_truth: unknown;
  problem_type?: unknown;
  options?: unknown;
  video?: unknown;
  system?: unknown;
}

export interface TruthIndex {
  idField: string;
  byKey: Map<string, TruthEntry>;
  file: string;
}

const TRUTH = ['ground_truth', 'answer', 'solution'];

/** Index a dataset (any container, any trainer format) by one field. */
export async function loadTruthIndex(file: string, idField: string): Promise<TruthIndex> {
  const byKey = new Map<string, TruthEntry>();
  const container = await detectContainer(file);
  for await (const { line, value } of readSource(file, container)) {
    const raw = value as Record<string, unknown>;
    const key = raw?.[idField];
    if (key === undefined || key === null) throw new InputError(file, line, `missing field "${idField}" (the --id-field)`, container === 'parquet' ? 'row' : 'line');
    // dataset rows in a trainer's own shape (verl's reward_model.ground_truth) are read like its rollouts, minus the completion
    const flat = toFlat(detectFormat({ ...raw, response: '' }).format, { ...raw, response: '' })[0] ?? raw;
    const truthKey = TRUTH.find((k) => flat[k] !== undefined && flat[k] !== null);
    if (!truthKey) throw new InputError(file, line, `no ground truth field (${TRUTH.join(', ')}, reward_model.ground_truth)`);
    byKey.set(normaliseText(String(typeof key === 'object' ? JSON.stringify(key) : key)), {
      ground_truth: flat[truthKey],
      problem_type: flat.problem_type,
      options: flat.options,
      video: flat.video ?? raw.video ?? raw.path,
      system: flat.system,
    });
  }
  return { idField, byKey, file };
}

/** A flat rollout record with the dataset's ground truth (and type, options, video) filled in where it has none. */
export function joinTruth(flat: Record<string, unknown>, index: TruthIndex): Record<string, unknown> {
  if (TRUTH.some((k) => flat[k] !== undefined && flat[k] !== null)) return flat;
  const own = flat[index.idField];
  let entry: TruthEntry | undefined;
  if (own !== undefined && own !== null) entry = index.byKey.get(normaliseText(String(own)));
  if (!entry && typeof flat.prompt === 'string') {
    const prompt = normaliseText(flat.prompt);
    entry = index.byKey.get(prompt);
    if (!entry) for (const [k, e] of index.byKey) if (k.length >= 8 && prompt.includes(k) && (entry = e)) break;
  }
  if (!entry) return flat;
  const fill = (k: keyof TruthEntry) => (flat[k] === undefined && entry[k] !== undefined && entry[k] !== null ? { [k]: entry[k] } : {});
  return { ...flat, ground_truth: entry.ground_truth, ...fill('problem_type'), ...fill('options'), ...fill('video'), ...fill('system') };
}
