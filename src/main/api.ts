// createWorkbench: the one implementation of the Workbench API (src/shared/api.ts).
// Both transports (Electron IPC, HTTP web mode) and the tests call this object.
import type { Db } from './store';
import * as store from './store';
import type { WorkbenchApi, ApiResult } from '../shared/api';
import type { EventHub } from './events';

export const VERSION = '0.1.0';

/** An error the caller caused (unknown id, invalid rubric): transports map it to 4xx. */
export class ApiError extends Error {
  constructor(message: string, readonly status: 400 | 404 | 409 | 422 | 503 = 400) {
    super(message);
  }
}

/** Starts and stops runs off the API thread; implemented by src/main/loop. */
export interface RunLauncher {
  presets(): ApiResult<'listPresets'>;
  start(args: { preset: string; overrides: Record<string, string | number | boolean>; experiment?: string; name?: string }): Promise<number>;
  stop(runId: number): Promise<boolean>;
}

/** The pieces of the verifier, the benchmark and the judge the API exposes. */
export interface WorkbenchServices {
  rubricJsonSchema(): Record<string, unknown>;
  /** Parse and validate a rubric body; throws an Error naming the path of the first problem. */
  validateRubric(body: string): void;
  dryRunRubric(db: Db, args: { body: string; run_id?: number; compare_to?: number; compare_body?: string; sample: number }): Promise<ApiResult<'dryRunRubric'>>;
  /** The rubrics shipped with the app (resources/rubrics): read-only, duplicated to edit. */
  builtinRubrics(): ApiResult<'listBuiltinRubrics'>;
  exportPairs(pairs: ApiResult<'listPairs'>['pairs'], format: 'trl' | 'llamafactory', conversational: boolean): string;
  taskFrames(taskId: string): ApiResult<'getTaskFrames'>;
  testJudge(args: { base_url: string; model: string; api_key?: string }): Promise<ApiResult<'testJudge'>>;
  /** What the Runs page shows of a run, from the database alone (src/main/app/live.ts). */
  runLive(db: Db, runId: number, afterLogId: number | null): ApiResult<'getLive'> | null;
  /** The tfjs backend this process would train on, and why the faster ones are not used. */
  backend(): Promise<{ name: string | null; reasons: string[] }>;
}

export interface WorkbenchOptions {
  db: Db;
  dbPath: string;
  mode: 'electron' | 'web' | 'cli';
  events: EventHub;
  launcher?: RunLauncher;
  services?: Partial<WorkbenchServices>;
  judge?: { base_url: string | null; model: string | null };
}

export function createWorkbench(opts: WorkbenchOptions): WorkbenchApi {
  const { db } = opts;
  const service = <K extends keyof WorkbenchServices>(name: K): WorkbenchServices[K] => {
    const s = opts.services?.[name];
    if (!s) throw new ApiError(`${name} is not available in this build`, 503);
    return s as WorkbenchServices[K];
  };
  const launcher = () => {
    if (!opts.launcher) throw new ApiError('this workbench was started without a run launcher', 503);
    return opts.launcher;
  };
  const mustRun = (runId: number) => {
    const run = store.getRun(db, runId);
    if (!run) throw new ApiError(`run ${runId} does not exist`, 404);
    return run;
  };
  const wrapNotFound = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof store.NotFoundError) throw new ApiError(err.message, 404);
      if (err instanceof Error && !(err instanceof ApiError)) throw new ApiError(err.message, 422);
      throw err;
    }
  };

  return {
    async health() {
      return { ok: true as const };
    },
    async info() {
      const backend = (await opts.services?.backend?.()) ?? { name: null, reasons: [] };
      return {
        version: VERSION,
        db_path: opts.dbPath,
        mode: opts.mode,
        backend,
        judge: opts.judge ?? { base_url: null, model: null },
      };
    },
    async listExperiments() {
      return store.listExperiments(db);
    },
    async getExperimentReport({ experiment_id }) {
      return store.latestExperimentReport(db, experiment_id);
    },
    async listRuns(args) {
      store.reconcileInterruptedRuns(db);
      return store.listRuns(db, args);
    },
    async getRun({ run_id }) {
      return mustRun(run_id);
    },
    async getMetrics({ run_ids, names }) {
      return store.getMetrics(db, run_ids, names);
    },
    async getAxes({ run_ids }) {
      return run_ids.map((id) => (mustRun(id), store.runAxes(db, id)));
    },
    async listPresets() {
      return opts.launcher ? opts.launcher.presets() : [];
    },
    async startRun(args) {
      return { run_id: await launcher().start(args) };
    },
    async stopRun({ run_id }) {
      const run = mustRun(run_id);
      if (run.status !== 'running' && run.status !== 'pending') return { stopped: false };
      // Whichever process trains it polls this request; a run of this process also stops at once.
      store.requestStop(db, run_id);
      await opts.launcher?.stop(run_id);
      return { stopped: true };
    },
    async getLive({ run_id, after_log_id }) {
      const live = service('runLive')(db, run_id, after_log_id ?? null);
      if (!live) throw new ApiError(`run ${run_id} does not exist`, 404);
      return live;
    },
    async listRollouts(args) {
      mustRun(args.run_id);
      return store.queryRollouts(db, args);
    },
    async locateRollout({ rollout_id }) {
      const at = store.locateRollout(db, rollout_id);
      if (!at) throw new ApiError(`rollout ${rollout_id} does not exist`, 404);
      return at;
    },
    async listRolloutSteps({ run_id }) {
      mustRun(run_id);
      return store.rolloutSteps(db, run_id);
    },
    async getTaskFrames({ task_id }) {
      return wrapNotFound(() => service('taskFrames')(task_id));
    },
    async listPairs(args) {
      return store.queryPairs(db, args);
    },
    async updatePair(args) {
      const { pair_id, ...change } = args;
      return wrapNotFound(() => store.updatePair(db, pair_id, change));
    },
    async bulkUpdatePairs({ action, preview, ...scope }) {
      if (preview) return { count: store.queryPairs(db, { ...scope, offset: 0, limit: 0 }).total, previous: [] };
      const previous = store.setStatusWhere(db, scope, action === 'accept' ? 'accepted' : action === 'reject' ? 'rejected' : 'pending');
      return { count: previous.length, previous };
    },
    async restorePairStatuses({ changes }) {
      return { updated: store.setStatuses(db, changes) };
    },
    async createPair({ chosen_rollout_id, rejected_rollout_id, accept }) {
      return wrapNotFound(() => store.createManualPair(db, chosen_rollout_id, rejected_rollout_id, accept ? 'accepted' : 'pending'));
    },
    async exportPairs({ run_id, selection, status, kind, search, format, conversational, preview }) {
      const q = selection === 'curated' ? { run_id, curated: true } : { run_id, status, kind, search };
      const scope = `${run_id != null ? `run${run_id}` : 'all'}-${selection === 'curated' ? 'curated' : 'filtered'}`;
      const filename = `veripo-pairs-${scope}-${format}.jsonl`;
      if (preview) return { filename, content: '', count: store.queryPairs(db, { ...q, offset: 0, limit: 0 }).total };
      const { pairs } = store.queryPairs(db, { ...q, offset: 0, limit: 1_000_000 });
      const content = service('exportPairs')(pairs, format, conversational);
      return { filename, content, count: pairs.length };
    },
    async listRubrics() {
      return store.listRubrics(db);
    },
    async listBuiltinRubrics() {
      return service('builtinRubrics')();
    },
    async getRubricSchema() {
      return service('rubricJsonSchema')();
    },
    async saveRubric({ name, body }) {
      try {
        service('validateRubric')(body);
      } catch (err) {
        if (err instanceof ApiError) throw err;
        throw new ApiError(`rubric "${name}" not saved: ${(err as Error).message}`, 422);
      }
      return store.saveRubricVersion(db, name, body);
    },
    async dryRunRubric(args) {
      if (args.run_id != null) mustRun(args.run_id);
      try {
        return await service('dryRunRubric')(db, args);
      } catch (err) {
        if (err instanceof ApiError) throw err;
        throw new ApiError((err as Error).message, 422);
      }
    },
    async testJudge(args) {
      return service('testJudge')(args);
    },
  };
}
