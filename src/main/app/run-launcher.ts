// The API's run launcher: runs in worker threads of this process, their events into the hub.
import type { Db } from '../store';
import type { EventHub } from '../events';
import { ApiError, type RunLauncher } from '../api';
import { ConfigError, configFields, resolveRunConfig, type RunConfig } from '../loop/config';
import { RUN_PRESETS } from '../loop/presets';
import { runConfigFromPreset, storeRun, startRunWorker, type RunHandle } from '../loop/launcher';

export function createRunLauncher(
  db: Db,
  dbPath: string,
  events: EventHub,
  /** Refuses (throws) or normalises a config before it is stored: the API's path policy. */
  checkConfig?: (config: RunConfig) => Promise<void>,
): RunLauncher & { shutdown(): Promise<void> } {
  const running = new Map<number, RunHandle>();
  return {
    presets() {
      return Object.entries(RUN_PRESETS).map(([name, p]) => ({ name, description: p.description, fields: configFields(resolveRunConfig({ preset: name })) }));
    },
    async start(args) {
      let config;
      try {
        config = runConfigFromPreset(args);
      } catch (err) {
        if (err instanceof ConfigError) throw new ApiError(err.message, 422);
        throw err;
      }
      await checkConfig?.(config);
      const runId = storeRun(db, args, config);
      const handle = startRunWorker({ runId, dbPath, onEvent: (e) => events.emit(e) });
      running.set(runId, handle);
      void handle.done.then(() => running.delete(runId));
      return runId;
    },
    async stop(runId) {
      const h = running.get(runId);
      if (!h) return false;
      h.stop();
      return true;
    },
    async shutdown() {
      for (const h of running.values()) h.stop();
      await Promise.all([...running.values()].map((h) => h.done));
    },
  };
}
