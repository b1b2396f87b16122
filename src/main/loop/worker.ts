// Training worker thread: runs one run's loop off the thread that answers the UI / CLI.
// It opens its own SQLite connection (WAL lets both sides work at once), forwards events
// with postMessage, and stops between steps when the shared stop flag is raised.
import { parentPort, workerData } from 'node:worker_threads';
import { openDb, markRunFinished, runConfig, databaseError } from '../store';
import { parseRunConfig } from './config';
import { runLoop } from './veripo';
import type { LoopEvent } from './stages/context';
import type { RunWorkerData, WorkerMessage } from './launcher';
import { closeIdlePeers } from '../train/peer-pool';

async function main(): Promise<void> {
  const data = workerData as RunWorkerData;
  const stop = new Int32Array(data.stop);
  const post = (m: WorkerMessage) => parentPort!.postMessage(m);
  const db = openDb(data.dbPath);
  try {
    const raw = runConfig(db, data.runId);
    if (!raw) throw new Error(`run ${data.runId} does not exist in ${data.dbPath}`);
    const config = parseRunConfig(raw, `run ${data.runId} config`);
    const result = await runLoop({
      db,
      runId: data.runId,
      config,
      dataDir: data.dataDir,
      cacheDir: data.cacheDir,
      emit: (event: LoopEvent) => post({ type: 'event', event: { ...event, run_id: data.runId, t: Date.now() / 1000 } }),
      shouldStop: () => Atomics.load(stop, 0) !== 0,
    });
    markRunFinished(db, data.runId, result.status, result.error ?? null);
    post({ type: 'done', status: result.status, error: result.error ?? null });
  } catch (err) {
    const message = databaseError(err, data.dbPath).message;
    try {
      markRunFinished(db, data.runId, 'failed', message);
    } catch {
      // the DB itself may be the problem; the parent still hears about it
    }
    post({ type: 'error', message, stack: err instanceof Error ? err.stack : undefined });
  } finally {
    db.close();
    // The run's stages are over: their pooled gradient peers hold replicas nobody will use.
    await closeIdlePeers();
  }
}

void main();
