// The Workbench API contract: one schema per method (arguments and result), shared by the
// Node side (src/main/api.ts), both transports (IPC, HTTP) and the renderer's client.
// Transports validate arguments with these schemas before anything else sees them.
import { z } from 'zod';
import { RunEventSchema } from './events';
import { ConfigFieldSchema } from './config-fields';

const Id = z.number().int().positive();

// diverged: the training health guard stopped a stage (weights restored); failed: an error ended the run.
export const RunStatus = z.enum(['pending', 'running', 'finished', 'failed', 'diverged', 'interrupted', 'stopped']);
export type RunStatusValue = z.infer<typeof RunStatus>;
/** How a training loop that returns (rather than throws) ends. */
export type LoopStatus = Extract<RunStatusValue, 'finished' | 'stopped' | 'diverged'>;
export const StageKind = z.enum(['sft', 'grpo', 'verify', 'dpo', 'eval']);
export const PairStatus = z.enum(['pending', 'accepted', 'rejected']);
export const PairSource = z.enum(['auto', 'manual']);

export const ValMetricsSchema = z.object({
  accuracy: z.number(),
  mean_length: z.number(),
  inconsistency_rate: z.number(),
  format_rate: z.number().optional(),
  grounding_rate: z.number().optional(),
  by_family: z.record(z.string(), z.number()).optional(),
});
export type ValMetrics = z.infer<typeof ValMetricsSchema>;

export const ExperimentSchema = z.object({
  id: Id,
  name: z.string(),
  description: z.string().nullable(),
  created_at: z.string(),
  run_count: z.number().int(),
  /** whether `veripo experiment` stored a report for it */
  has_report: z.boolean().optional(),
});

export const ExperimentReportSchema = z.object({
  id: Id,
  experiment_id: Id,
  created_at: z.string(),
  /** the command line that reproduces it */
  command: z.string(),
  markdown: z.string(),
  /** SVG figures the Markdown refers to by name */
  figures: z.array(z.object({ name: z.string(), svg: z.string() })),
});
export type ExperimentReport = z.infer<typeof ExperimentReportSchema>;

export const RunSummarySchema = z.object({
  id: Id,
  experiment_id: Id,
  experiment: z.string(),
  name: z.string().nullable(),
  preset: z.string().nullable(),
  seed: z.number().int(),
  backend: z.string().nullable(),
  status: RunStatus,
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  wall_s: z.number().nullable(),
  final_val: ValMetricsSchema.nullable(),
  error: z.string().nullable(),
  /** whether any metric is stored: imported rollout files have none to plot */
  has_curves: z.boolean().optional(),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

export const StageSchema = z.object({
  id: Id,
  run_id: Id,
  ordinal: z.number().int(),
  iteration: z.number().int(),
  kind: StageKind,
  status: z.enum(['running', 'finished', 'failed', 'interrupted']),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  wall_s: z.number().nullable(),
  val: ValMetricsSchema.nullable(),
  summary: z.record(z.string(), z.unknown()).nullable(),
});
export type Stage = z.infer<typeof StageSchema>;

export const RunDetailSchema = RunSummarySchema.extend({
  config: z.record(z.string(), z.unknown()),
  backend_reason: z.string().nullable(),
  stages: z.array(StageSchema),
  metric_names: z.array(z.string()),
});
export type RunDetail = z.infer<typeof RunDetailSchema>;

export const MetricSeriesSchema = z.object({
  run_id: Id,
  name: z.string(),
  points: z.array(z.object({ step: z.number(), value: z.number(), wall_s: z.number().nullable(), stage_id: z.number().nullable() })),
});
export type MetricSeries = z.infer<typeof MetricSeriesSchema>;

export const RolloutSchema = z.object({
  id: Id,
  run_id: Id,
  stage_id: z.number().int().nullable(),
  step: z.number().int().nullable(),
  prompt_id: z.string(),
  task_id: z.string().nullable(),
  group_index: z.number().int(),
  prompt: z.string(),
  ground_truth: z.string().nullable(),
  text: z.string(),
  token_count: z.number().int().nullable(),
  reward: z.number().nullable(),
  reward_parts: z.record(z.string(), z.number()).nullable(),
  advantage: z.number().nullable(),
  truncated: z.boolean(),
  verdict: z.record(z.string(), z.unknown()).nullable(),
  meta: z.record(z.string(), z.unknown()).nullable(),
});
export type Rollout = z.infer<typeof RolloutSchema>;

export const RolloutFilterSchema = z.object({
  run_id: Id,
  stage_id: Id.optional(),
  step: z.number().int().nonnegative().optional(),
  prompt_id: z.string().max(500).optional(),
  correct: z.boolean().optional(),
  consistent: z.boolean().optional(),
  repetitive: z.boolean().optional(),
  reflective: z.boolean().optional(),
  in_pair: z.enum(['chosen', 'rejected']).optional(),
  offset: z.number().int().nonnegative().default(0),
  limit: z.number().int().positive().max(20_000).default(500),
});

export const PairSchema = z.object({
  id: Id,
  run_id: z.number().int().nullable(),
  stage_id: z.number().int().nullable(),
  prompt_id: z.string(),
  prompt: z.string(),
  chosen_rollout_id: z.number().int().nullable(),
  rejected_rollout_id: z.number().int().nullable(),
  chosen_text: z.string(),
  rejected_text: z.string(),
  kind: z.string(),
  source: PairSource,
  status: PairStatus,
  reasons: z.array(z.string()),
  edited: z.boolean(),
  meta: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Pair = z.infer<typeof PairSchema>;

export const RubricSchema = z.object({
  id: Id,
  name: z.string(),
  version: z.number().int(),
  body: z.string(),
  created_at: z.string(),
});
export type Rubric = z.infer<typeof RubricSchema>;

export const PresetSchema = z.object({
  name: z.string(),
  description: z.string(),
  /** Every settable key of the run config with its kind and this preset's value. */
  fields: z.array(ConfigFieldSchema),
});
export type Preset = z.infer<typeof PresetSchema>;

const NameText = z.string().trim().min(1).max(200);

export const apiSchema = {
  health: { args: z.object({}).strict(), result: z.object({ ok: z.literal(true) }) },
  info: {
    args: z.object({}).strict(),
    result: z.object({
      version: z.string(),
      db_path: z.string(),
      mode: z.enum(['electron', 'web', 'cli']),
      backend: z.object({ name: z.string().nullable(), reasons: z.array(z.string()) }),
      judge: z.object({ base_url: z.string().nullable(), model: z.string().nullable() }),
    }),
  },
  listExperiments: { args: z.object({}).strict(), result: z.array(ExperimentSchema) },
  getExperimentReport: { args: z.object({ experiment_id: Id }).strict(), result: ExperimentReportSchema.nullable() },
  listRuns: {
    args: z.object({ experiment_id: Id.optional(), status: RunStatus.optional() }).strict(),
    result: z.array(RunSummarySchema),
  },
  getRun: { args: z.object({ run_id: Id }).strict(), result: RunDetailSchema },
  getMetrics: {
    args: z.object({ run_ids: z.array(Id).min(1).max(32), names: z.array(z.string().max(200)).max(64).optional() }).strict(),
    result: z.array(MetricSeriesSchema),
  },
  getAxes: {
    args: z.object({ run_ids: z.array(Id).min(1).max(32) }).strict(),
    result: z.array(
      z.object({
        run_id: Id,
        stages: z.array(
          z.object({ id: Id, kind: StageKind, ordinal: z.number().int(), first_step: z.number().nullable(), last_step: z.number().nullable(), train_s: z.number().nullable() }),
        ),
        prompts: z.array(z.object({ step: z.number(), n: z.number().int() })),
      }),
    ),
  },
  listPresets: { args: z.object({}).strict(), result: z.array(PresetSchema) },
  startRun: {
    args: z
      .object({
        preset: NameText,
        overrides: z.record(z.string().max(200), z.union([z.string(), z.number(), z.boolean()])).default({}),
        experiment: NameText.optional(),
        name: NameText.optional(),
      })
      .strict(),
    result: z.object({ run_id: Id }),
  },
  /** Stop any running run on this machine: a request stored in the DB that the training process honours. */
  stopRun: { args: z.object({ run_id: Id }).strict(), result: z.object({ stopped: z.boolean() }) },
  getLive: {
    args: z.object({ run_id: Id, after_log_id: z.number().int().nonnegative().optional() }).strict(),
    result: z.object({
      run_id: Id,
      status: RunStatus,
      error: z.string().nullable(),
      stop_requested: z.boolean(),
      current: z.object({ stage: z.string(), iteration: z.number().int(), step: z.number().int(), total: z.number().int() }).nullable(),
      /** stored stages, then (while the run is active) the ones its config still plans */
      stages: z.array(z.object({ kind: StageKind, iteration: z.number().int(), status: z.enum(['running', 'finished', 'failed', 'interrupted', 'planned']), wall_s: z.number().nullable() })),
      /** share of the whole run done, across stages */
      fraction: z.number(),
      eta_s: z.number().nullable(),
      elapsed_s: z.number(),
      logs: z.array(z.object({ id: z.number().int(), t: z.number(), level: z.string(), message: z.string() })),
    }),
  },
  listRollouts: {
    args: RolloutFilterSchema.strict(),
    result: z.object({ total: z.number().int(), rollouts: z.array(RolloutSchema) }),
  },
  locateRollout: {
    args: z.object({ rollout_id: Id }).strict(),
    result: z.object({ run_id: Id, index: z.number().int() }),
  },
  listRolloutSteps: {
    args: z.object({ run_id: Id }).strict(),
    result: z.array(z.object({ stage_id: z.number().int().nullable(), kind: z.string().nullable(), iteration: z.number().int().nullable(), step: z.number().int().nullable(), count: z.number().int() })),
  },
  getTaskFrames: {
    args: z.object({ task_id: z.string().min(1).max(200) }).strict(),
    result: z.object({ frames: z.array(z.string()), width: z.number().int(), height: z.number().int() }),
  },
  listPairs: {
    args: z
      .object({
        run_id: Id.optional(),
        status: PairStatus.optional(),
        kind: z.string().max(100).optional(),
        search: z.string().max(500).optional(),
        offset: z.number().int().nonnegative().default(0),
        limit: z.number().int().positive().max(5000).default(500),
      })
      .strict(),
    result: z.object({
      total: z.number().int(),
      counts: z.object({ by_status: z.record(z.string(), z.number()), by_kind: z.record(z.string(), z.number()) }),
      pairs: z.array(PairSchema),
    }),
  },
  updatePair: {
    args: z.discriminatedUnion('action', [
      z.object({ pair_id: Id, action: z.literal('accept') }).strict(),
      z.object({ pair_id: Id, action: z.literal('reject') }).strict(),
      z.object({ pair_id: Id, action: z.literal('reset') }).strict(),
      z.object({ pair_id: Id, action: z.literal('swap') }).strict(),
      z.object({ pair_id: Id, action: z.literal('edit'), chosen_text: z.string().min(1).max(100_000) }).strict(),
    ]),
    result: PairSchema,
  },
  bulkUpdatePairs: {
    // One decision for every pair a filter lists; the previous statuses come back so it can be undone.
    args: z
      .object({
        run_id: Id.optional(),
        status: PairStatus.optional(),
        kind: z.string().max(100).optional(),
        search: z.string().max(500).optional(),
        action: z.enum(['accept', 'reject', 'reset']),
        preview: z.boolean().default(false),
      })
      .strict(),
    result: z.object({ count: z.number().int(), previous: z.array(z.object({ pair_id: Id, status: PairStatus })) }),
  },
  restorePairStatuses: {
    args: z.object({ changes: z.array(z.object({ pair_id: Id, status: PairStatus })).max(1_000_000) }).strict(),
    result: z.object({ updated: z.number().int() }),
  },
  createPair: {
    // A pair made by hand is a proposal like any other: pending until someone accepts it.
    args: z.object({ chosen_rollout_id: Id, rejected_rollout_id: Id, accept: z.boolean().default(false) }).strict(),
    result: PairSchema,
  },
  exportPairs: {
    args: z
      .object({
        run_id: Id.optional(),
        /** curated: accepted pairs plus edited ones not rejected; filter: exactly the listing that status/kind/search select. */
        selection: z.enum(['curated', 'filter']).default('curated'),
        status: PairStatus.optional(),
        kind: z.string().max(100).optional(),
        search: z.string().max(500).optional(),
        format: z.enum(['trl', 'llamafactory']),
        conversational: z.boolean().default(false),
        /** count only: the client confirms the number before anything is written */
        preview: z.boolean().default(false),
      })
      .strict(),
    result: z.object({ filename: z.string(), content: z.string(), count: z.number().int() }),
  },
  listRubrics: { args: z.object({}).strict(), result: z.array(RubricSchema) },
  listBuiltinRubrics: { args: z.object({}).strict(), result: z.array(z.object({ name: z.string(), body: z.string() })) },
  getRubricSchema: { args: z.object({}).strict(), result: z.record(z.string(), z.unknown()) },
  saveRubric: {
    args: z.object({ name: NameText, body: z.string().min(2).max(1_000_000) }).strict(),
    result: RubricSchema,
  },
  dryRunRubric: {
    args: z
      .object({
        body: z.string().min(2).max(1_000_000),
        run_id: Id.optional(),
        compare_to: Id.optional(),
        /** compare with this rubric text instead (a built-in one) */
        compare_body: z.string().min(2).max(1_000_000).optional(),
        sample: z.number().int().positive().max(5000).default(200),
      })
      .strict(),
    result: z.object({
      n: z.number().int(),
      counts: z.record(z.string(), z.number()),
      baseline_counts: z.record(z.string(), z.number()).nullable(),
      /** rollouts whose verdict label or any check's pass/fail changed, with the checks that flipped */
      changed: z.array(
        z.object({
          rollout_id: z.number().int(),
          run_id: z.number().int(),
          before: z.string(),
          after: z.string(),
          flipped: z.array(z.object({ check: z.string(), before: z.boolean().nullable(), after: z.boolean().nullable() })),
        }),
      ),
    }),
  },
  testJudge: {
    args: z.object({ base_url: z.string().url().max(500), model: z.string().min(1).max(200), api_key: z.string().max(500).optional() }).strict(),
    result: z.object({ ok: z.boolean(), latency_ms: z.number().nullable(), message: z.string() }),
  },
} as const;

export type ApiSchema = typeof apiSchema;
export type ApiMethod = keyof ApiSchema;
export type ApiArgs<M extends ApiMethod> = z.input<ApiSchema[M]['args']>;
export type ApiParsedArgs<M extends ApiMethod> = z.output<ApiSchema[M]['args']>;
export type ApiResult<M extends ApiMethod> = z.output<ApiSchema[M]['result']>;

/** What the Node side implements: arguments arrive already validated. */
export type WorkbenchApi = { [M in ApiMethod]: (args: ApiParsedArgs<M>) => Promise<ApiResult<M>> };

/** What a client (renderer, tests) calls: arguments as the caller writes them. */
export type WorkbenchClient = { [M in ApiMethod]: (args: ApiArgs<M>) => Promise<ApiResult<M>> } & {
  onEvent(listener: (event: import('./events').RunEvent) => void): () => void;
};

export const API_METHODS = Object.keys(apiSchema) as ApiMethod[];

export function isApiMethod(name: string): name is ApiMethod {
  return Object.prototype.hasOwnProperty.call(apiSchema, name);
}

export class ApiValidationError extends Error {
  constructor(readonly method: string, readonly issues: { path: string; message: string }[]) {
    super(`invalid arguments for ${method}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
  }
}

/** Validate raw arguments for a method; throws ApiValidationError naming each bad field. */
export function parseApiArgs<M extends ApiMethod>(method: M, raw: unknown): ApiParsedArgs<M> {
  const result = apiSchema[method].args.safeParse(raw ?? {});
  if (!result.success) {
    throw new ApiValidationError(
      method,
      result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  return result.data as ApiParsedArgs<M>;
}

export { RunEventSchema };
