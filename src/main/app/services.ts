// The workbench as the app ships it: the store plus the verifier, benchmark, judge client
// and run launcher behind the API. Tests that need only the store use openWorkbench directly.
import { openWorkbench, type OpenedWorkbench } from './workbench';
import type { WorkbenchServices } from '../api';
import type { Db } from '../store';
import * as store from '../store';
import { parseRubric, rubricJsonSchema, defaultRubric } from '../verifier/rubric';
import { verifyAll } from '../verifier/verify';
import { RUBRIC_PRESET_TEXT } from '../verifier/presets';
import { JudgeClient, JudgeError } from '../verifier/judge';
import type { Verdict } from '../verifier/types';
import { exportPairs, pairRecordFromStored } from '../io/export';
import { encodePng } from '../video';
import { taskFromId, isBenchmarkTaskId, toVerifierRollout } from '../loop/tasks';
import { dataDirFor } from '../loop/launcher';
import { createRunLauncher } from './run-launcher';
import { runLive } from './live';
import { ApiError } from '../api';
import { createPathPolicy, checkRunConfigPaths, PathNotAllowedError, type PathPolicy } from './paths';
import { initBackend } from '../model/backend';

/** The label a dry run counts and compares: the verdict fields a person filters by. */
export function verdictLabel(v: Pick<Verdict, 'correct' | 'consistent' | 'repetitive'> | Record<string, unknown> | null): string {
  if (!v) return 'unverified';
  return [v.correct ? 'correct' : 'wrong', v.consistent ? 'consistent' : 'inconsistent', ...(v.repetitive ? ['repetitive'] : [])].join(', ');
}

/** Pass/fail of each check in a verdict (stored JSON or fresh), by check name. */
function checkPasses(v: unknown): Map<string, boolean> {
  const checks = (v as { checks?: { name?: unknown; pass?: unknown }[] } | null)?.checks;
  return new Map(Array.isArray(checks) ? checks.filter((c) => typeof c.name === 'string' && typeof c.pass === 'boolean').map((c) => [c.name as string, c.pass as boolean]) : []);
}

async function dryRunRubric(db: Db, args: { body: string; run_id?: number; compare_to?: number; compare_body?: string; sample: number }) {
  const rubric = parseRubric(args.body, 'edited rubric');
  // A dry run judges by rules only: it must answer in seconds and never hit a judge server.
  rubric.checks.judge.enabled = false;
  const rows = store.sampleRollouts(db, args.run_id, args.sample);
  const inputs = rows.map((r, i) => toVerifierRollout(r, i));
  const after = await verifyAll(inputs, rubric);
  let before: (unknown | null)[];
  let baselineCounts: Record<string, number> | null = null;
  const savedBody = args.compare_body ?? (args.compare_to != null ? store.getRubric(db, args.compare_to)?.body : undefined);
  if (args.compare_to != null && savedBody == null) throw new Error(`rubric version ${args.compare_to} does not exist`);
  if (savedBody != null) {
    const base = parseRubric(savedBody, 'saved rubric');
    base.checks.judge.enabled = false;
    before = await verifyAll(inputs, base);
  } else {
    before = rows.map((r) => r.verdict ?? null);
  }
  const labels = before.map((v) => (v ? verdictLabel(v as Record<string, unknown>) : null));
  const counts: Record<string, number> = {};
  for (const v of after) counts[verdictLabel(v)] = (counts[verdictLabel(v)] ?? 0) + 1;
  if (labels.some((b) => b != null)) {
    baselineCounts = {};
    for (const b of labels) if (b) baselineCounts[b] = (baselineCounts[b] ?? 0) + 1;
  }
  const changed = after
    .map((v, i) => {
      const was = checkPasses(before[i]);
      const now = checkPasses(v);
      const flipped = [...new Set([...was.keys(), ...now.keys()])]
        .filter((name) => was.get(name) !== now.get(name))
        .map((name) => ({ check: name, before: was.get(name) ?? null, after: now.get(name) ?? null }));
      return { rollout_id: rows[i]!.id, run_id: rows[i]!.run_id, before: labels[i] ?? 'unverified', after: verdictLabel(v), flipped };
    })
    .filter((c) => c.before !== c.after || c.flipped.length > 0);
  return { n: rows.length, counts, baseline_counts: baselineCounts, changed };
}

function taskFrames(taskId: string) {
  if (!isBenchmarkTaskId(taskId)) throw new Error(`no frames for "${taskId}": not a benchmark task`);
  const task = taskFromId(taskId);
  const [T, H, W] = task.frameShape;
  if (!task.frames || T === 0) return { frames: [], width: 0, height: 0 };
  const size = H * W * 3;
  const frames = Array.from({ length: T }, (_, t) => `data:image/png;base64,${encodePng(task.frames!.subarray(t * size, (t + 1) * size), W, H).toString('base64')}`);
  return { frames, width: W, height: H };
}

async function testJudge(args: { base_url: string; model: string; api_key?: string }) {
  const config = { ...defaultRubric().judge, base_url: args.base_url, model: args.model, api_key: args.api_key ?? null, timeout_ms: 10_000, retries: 0, cache_dir: null };
  const client = new JudgeClient(config as never);
  const started = performance.now();
  try {
    const v = await client.judge({ question: 'Is 2 + 2 equal to 4?', reasoning: '2 + 2 = 4, so yes.', answer: 'yes', ground_truth: 'yes' });
    return { ok: true, latency_ms: Math.round(performance.now() - started), message: `the judge answered with a valid verdict (score ${JSON.stringify(v).slice(0, 120)})` };
  } catch (err) {
    const kind = err instanceof JudgeError ? `${err.kind}: ` : '';
    return { ok: false, latency_ms: null, message: `${kind}${(err as Error).message}` };
  }
}

/** Which tfjs backend this process would train on, probed once on first ask (not at start-up). */
function backendProbe(): () => Promise<{ name: string | null; reasons: string[] }> {
  let probe: Promise<{ name: string | null; reasons: string[] }> | null = null;
  return () =>
    (probe ??= initBackend().then(
      (b) => ({ name: b.backend, reasons: b.reasons }),
      (err: Error) => ({ name: null, reasons: [err.message] }),
    ));
}

export function appServices(): Partial<WorkbenchServices> {
  return {
    rubricJsonSchema,
    validateRubric: (body) => void parseRubric(body, 'rubric'),
    dryRunRubric,
    exportPairs: (pairs, format, conversational) =>
      exportPairs(pairs.map(pairRecordFromStored), format, { conversational })
        .map((row) => JSON.stringify(row))
        .join('\n') + (pairs.length ? '\n' : ''),
    taskFrames,
    testJudge,
    runLive,
    builtinRubrics: () => Object.entries(RUBRIC_PRESET_TEXT).map(([name, body]) => ({ name, body })),
    backend: backendProbe(),
  };
}

export async function openAppWorkbench(opts: {
  dbPath: string;
  mode: 'electron' | 'web' | 'cli';
  /** Folders besides the data folder whose rubric and checkpoint files API calls may name. */
  workspaces?: string[];
}): Promise<OpenedWorkbench & { paths: PathPolicy }> {
  const paths = createPathPolicy(dataDirFor(opts.dbPath), opts.workspaces);
  const checkConfig = async (db: Db, config: Parameters<typeof checkRunConfigPaths>[0]) => {
    try {
      await checkRunConfigPaths(config, paths, db);
    } catch (err) {
      if (err instanceof PathNotAllowedError) throw new ApiError(err.message, 422);
      throw err;
    }
  };
  const opened = await openWorkbench({
    dbPath: opts.dbPath,
    mode: opts.mode,
    services: appServices(),
    launcher: opts.dbPath === ':memory:' ? undefined : (db, dbPath, events) => createRunLauncher(db, dbPath, events, (config) => checkConfig(db, config)),
  });
  return { ...opened, paths };
}
