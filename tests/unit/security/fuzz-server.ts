// The web-mode server the fuzz test attacks, on a worker thread: the real workbench, services,
// launcher and path policy over a seeded database. A config that passes every check is refused
// just before a training thread would start, so the fuzzer never trains.
import { parentPort, workerData } from 'node:worker_threads';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWorkbench } from '../../../src/main/app/workbench';
import { appServices } from '../../../src/main/app/services';
import { createPathPolicy, checkRunConfigPaths, PathNotAllowedError } from '../../../src/main/app/paths';
import { dataDirFor } from '../../../src/main/loop/launcher';
import { createRunLauncher } from '../../../src/main/app/run-launcher';
import { ApiError } from '../../../src/main/api';
import { createWebServer } from '../../../src/main/transport/http';
import * as store from '../../../src/main/store';

const dir = mkdtempSync(join(tmpdir(), 'veripo-fuzz-'));
const dbPath = join(dir, 'fuzz.db');
mkdirSync(dataDirFor(dbPath), { recursive: true });
const paths = createPathPolicy(dataDirFor(dbPath));
const wb = await openWorkbench({
  dbPath,
  mode: 'web',
  // The real services, minus the two that reach outside the process (a judge server, tfjs).
  services: { ...appServices(), testJudge: undefined, backend: undefined },
  launcher: (db, p, events) =>
    createRunLauncher(db, p, events, async (config) => {
      try {
        await checkRunConfigPaths(config, paths, db);
      } catch (err) {
        if (err instanceof PathNotAllowedError) throw new ApiError(err.message, 422);
        throw err;
      }
      throw new ApiError('runs are not started in the fuzz test', 409);
    }),
});
const runId = store.createRun(wb.db, { experiment: 'fuzz', preset: 'smoke', config: { seed: 1 }, seed: 1 });
const stage = store.startStage(wb.db, runId, 0, 0, 'grpo');
const ids = store.insertRollouts(
  wb.db,
  runId,
  Array.from({ length: 6 }, (_, i) => ({
    stage_id: stage,
    step: i % 2,
    prompt_id: `p${i % 3}`,
    group_index: i,
    prompt: 'Which colour? (A) red (B) blue',
    ground_truth: 'A',
    text: i % 2 ? '<think>red</think><answer>A</answer>' : '<think>blue</think><answer>B</answer>',
    verdict: { correct: i % 2 === 1, consistent: true },
  })),
);
store.createManualPair(wb.db, ids[3]!, ids[0]!);
store.saveRubricVersion(wb.db, 'mine', '{}');
const staticDir = mkdtempSync(join(tmpdir(), 'veripo-fuzz-static-'));
const web = createWebServer({ api: wb.api, events: wb.events, token: (workerData as { token: string }).token, staticDir, maxBodyBytes: 64 * 1024 });
const { port } = await web.listen(0);
parentPort!.postMessage({ port });
