// The run config: one JSON document validated by zod, namespaced by stage with TRL's names
// inside (`grpo.loss_type`, `dpo.beta`, …), and the one way overrides (`--set a.b=value`, the
// Runs form) and presets (./presets.ts) become a validated config.
import { z } from 'zod';
import { DpoConfigSchema, GrpoConfigSchema, SftConfigSchema } from '../train/config';
import { HealthConfigSchema, DEFAULT_HEALTH_CONFIG } from '../train/health';
import { parseOverride, type ConfigField, type ConfigFieldKind } from '../../shared/config-fields';
import { DEFAULT_PRESET, RUN_PRESETS } from './presets';

const ModelConfigSchema = z
  .object({
    preset: z.enum(['tiny', 'small', 'base']).default('small'),
    /** Force a tfjs backend; null picks tensorflow → wasm → cpu (VERIPO_BACKEND also forces). */
    backend: z.enum(['tensorflow', 'wasm', 'cpu']).nullable().default(null),
    /** Start from this checkpoint folder instead of a fresh policy. */
    init_checkpoint: z.string().nullable().default(null),
  })
  .strict();

const DataConfigSchema = z
  .object({
    /** Training prompts GRPO draws from (benchmark train split). */
    train_size: z.number().int().positive().max(100_000).default(512),
    val_size: z.number().int().positive().max(10_000).default(96),
    test_size: z.number().int().positive().max(10_000).default(192),
    difficulty: z.number().int().min(1).max(3).default(1),
    modality: z.enum(['video', 'image', 'text']).default('video'),
  })
  .strict();

const VerifierConfigSchema = z
  .object({
    /** A rubric preset (default | strict | lenient), a saved rubric's name or "#id", or a rubric JSON file. */
    rubric: z.string().default('default'),
    /** Use the rubric's LLM judge (needs a reachable OpenAI-compatible server). */
    judge: z.boolean().default(false),
  })
  .strict();

const LoopConfigSchema = z
  .object({
    /** veripo: GRPO → verify → DPO per iteration, then a final GRPO; grpo: continual GRPO only (baseline). */
    method: z.enum(['veripo', 'grpo']).default('veripo'),
    iterations: z.number().int().min(0).max(1000).default(2),
    /** Probability of dropping a prompt every rollout solved from the next GRPO stage (paper: 0.8). */
    discard_solved: z.number().min(0).max(1).default(0.8),
    /** Paper's curriculum: the first GRPO stage on text, then image, then video. */
    curriculum: z.boolean().default(false),
    /** Total wall-clock budget for the RL stages (after SFT); null = steps decide. */
    max_seconds: z.number().positive().nullable().default(null),
    /** Greedy (0) or sampled eval on val after every stage. */
    eval_temperature: z.number().min(0).default(0),
    /** Evaluate on the test split (data.test_size tasks) at the end. */
    final_test: z.boolean().default(false),
    /** With final_test: also pass@1 over this many samples per test task at grpo.temperature (0 = greedy only). */
    test_samples: z.number().int().min(0).max(64).default(0),
  })
  .strict();

export const RunConfigSchema = z
  .object({
    seed: z.number().int().min(0).default(0),
    experiment: z.string().min(1).max(200).default('default'),
    model: ModelConfigSchema.default(ModelConfigSchema.parse({})),
    data: DataConfigSchema.default(DataConfigSchema.parse({})),
    sft: SftConfigSchema.default(SftConfigSchema.parse({})),
    grpo: GrpoConfigSchema.default(GrpoConfigSchema.parse({})),
    verifier: VerifierConfigSchema.default(VerifierConfigSchema.parse({})),
    dpo: DpoConfigSchema.default(DpoConfigSchema.parse({})),
    loop: LoopConfigSchema.default(LoopConfigSchema.parse({})),
    /** The training health guard's thresholds (docs/reliability.md). */
    health: HealthConfigSchema.default(DEFAULT_HEALTH_CONFIG),
  })
  .strict();
export type RunConfig = z.output<typeof RunConfigSchema>;

type Plain = Record<string, unknown>;

export class ConfigError extends Error {}

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isPlain(v) && isPlain(out[k]) ? deepMerge(out[k] as Plain, v) : v;
  return out;
}

export function applySet(config: Plain, key: string, value: unknown): Plain {
  const path = key.split('.');
  if (path.some((p) => !p)) throw new ConfigError(`bad key "${key}" (expected a.b.c)`);
  const over: Plain = {};
  let cur = over;
  path.forEach((p, i) => {
    if (i === path.length - 1) cur[p] = value;
    else cur = cur[p] = {} as Plain;
  });
  return deepMerge(config, over);
}

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  default?: unknown;
}

/** Kind (and enum options, nullability) of one leaf of the config's JSON schema. */
function leafKind(s: JsonSchema): { kind: ConfigFieldKind; options?: string[]; nullable: boolean } {
  // Nullable leaves come as anyOf [T, null] or as type [T, "null"].
  const alts = s.anyOf ?? (Array.isArray(s.type) ? s.type.map((type) => ({ ...s, type })) : [s]);
  const nullable = alts.some((a) => a.type === 'null');
  const main = alts.find((a) => a.type !== 'null') ?? {};
  if (main.enum) return { kind: 'enum', options: main.enum.map(String), nullable };
  if (main.type === 'integer' || main.type === 'number' || main.type === 'boolean' || main.type === 'string') return { kind: main.type, nullable };
  return { kind: 'json', nullable };
}

let fieldKinds: Map<string, ReturnType<typeof leafKind>> | null = null;

/** Every settable dotted key of the run config with its kind, read off the schema once. */
function configKinds(): Map<string, ReturnType<typeof leafKind>> {
  if (fieldKinds) return fieldKinds;
  const root = z.toJSONSchema(RunConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out = new Map<string, ReturnType<typeof leafKind>>();
  const walk = (s: JsonSchema, prefix: string) => {
    for (const [k, v] of Object.entries(s.properties ?? {})) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v.type === 'object' && v.properties) walk(v, key);
      else out.set(key, leafKind(v));
    }
  };
  walk(root, '');
  fieldKinds = out;
  return out;
}

function valueAt(config: Plain, key: string): unknown {
  let cur: unknown = config;
  for (const p of key.split('.')) cur = isPlain(cur) ? cur[p] : undefined;
  return cur;
}

/** The Runs form's fields: every settable key, its kind, and the value `config` gives it. */
export function configFields(config: RunConfig): ConfigField[] {
  return [...configKinds()].map(([key, k]) => ({ key, ...k, default: valueAt(config as unknown as Plain, key) }));
}

/** Keys that TRL names differently, for the error an old config file gets. */
const RENAMED: Record<string, string> = {};

function unknownKey(key: string): ConfigError {
  const renamed = RENAMED[key];
  return new ConfigError(renamed ? `unknown key "${key}": it is now "${renamed}" (TRL's name)` : `unknown key "${key}" (see \`veripo run --help\` for the keys; sections: ${[...new Set([...configKinds().keys()].map((k) => k.split('.')[0]))].join(', ')})`);
}

/**
 * One override as the user typed it (a CLI `--set` value, a form input) or as a typed value
 * (JSON API callers): text is parsed by the key's kind; an unknown key is an error naming it.
 */
export function parseOverrideFor(key: string, value: unknown): unknown {
  const kind = configKinds().get(key);
  if (!kind) throw unknownKey(key);
  if (typeof value !== 'string') return value;
  const r = parseOverride({ key, ...kind, default: undefined }, value);
  if ('error' in r) throw new ConfigError(r.error);
  return r.value;
}

/** `--set key=value` items → [key, typed value], each checked against the schema's keys. */
export function parseSets(items: readonly string[]): [string, unknown][] {
  return items.map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set takes key=value, got "${item}"`);
    const key = item.slice(0, eq).trim();
    return [key, parseOverrideFor(key, item.slice(eq + 1))];
  });
}

/**
 * A single-stage command's config (`veripo sft|grpo`): the run config schema's defaults with the same
 * `--set` keys as `veripo run`, limited to the sections the stage reads.
 */
export function stageRunConfig(command: string, items: readonly string[], sections: readonly string[]): RunConfig {
  const sets = parseSets(items);
  for (const [key] of sets) {
    if (!sections.some((s) => key === s || key.startsWith(`${s}.`))) throw new ConfigError(`--set ${key}: veripo ${command} reads ${sections.map((s) => (s.includes('.') || s === 'seed' ? s : `${s}.*`)).join(', ')}`);
  }
  // The schema's defaults, not a run preset's: a stage run alone starts from TRL-like defaults.
  let doc: Plain = {};
  for (const [k, v] of sets) doc = applySet(doc, k, v);
  return parseRunConfig(doc, `veripo ${command} --set`);
}

/** Validate a config document; errors name each bad key with its dotted path. */
export function parseRunConfig(raw: unknown, source = 'config'): RunConfig {
  const r = RunConfigSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const path = i.path.join('.');
      if (i.code === 'unrecognized_keys') return i.keys.map((k) => `  ${unknownKey(path ? `${path}.${k}` : k).message}`).join('\n');
      return `  ${path || '(root)'}: ${i.message}`;
    });
    throw new ConfigError(`${source} is not a valid run config:\n${lines.join('\n')}`);
  }
  return r.data;
}

export function resolveRunConfig(opts: { preset?: string; file?: Plain; sets?: [string, unknown][]; source?: string }): RunConfig {
  const name = opts.preset ?? DEFAULT_PRESET;
  const preset = RUN_PRESETS[name];
  if (!preset) throw new ConfigError(`unknown preset "${name}" (known: ${Object.keys(RUN_PRESETS).join(', ')})`);
  let doc: Plain = deepMerge({}, preset.config);
  if (opts.file) doc = deepMerge(doc, opts.file);
  for (const [k, v] of opts.sets ?? []) doc = applySet(doc, k, parseOverrideFor(k, v));
  return parseRunConfig(doc, opts.source ?? `preset ${name}`);
}

/**
 * DPO's completion cap in the loop: dpo.max_completion_length, else GRPO's plus one, so a
 * GRPO completion cut at the cap still fits once re-encoded with its <eos>.
 */
export function dpoCompletionCap(config: Pick<RunConfig, 'dpo' | 'grpo'>): number {
  return config.dpo.max_completion_length ?? config.grpo.max_completion_length + 1;
}
