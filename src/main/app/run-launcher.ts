// The API's run launcher: runs in worker threads of this process, their events into the hub.
import type { Db } from '../store';
import type { EventHub } from '../events';
import { ApiError, type RunLauncher } from '../api';
import { ConfigError, configFields, resolveRunConfig } from '../loop/config';
import { RUN_PRESETS } from '../loop/presets';
import { createRunFromPreset, startRunWorker, type RunHandle } from '../loop/launcher';

export function createRunLauncher(db: Db, dbPath: string, events: EventHub): RunLauncher & { shutdown(): Promise<void> } {
  const running = new Map<number, RunHandle>();
  return {
    presets() {
      return Object.entries(RUN_PRESETS).map(([name, p]) => ({ name, description: p.description, fields: configFields(resolveRunConfig({ preset: name })) }));
    },
    async start(args) {
      let created;
      try {
        created = createRunFromPreset(db, args);
      } catch (err) {
        if (err instanceof ConfigError) throw new ApiError(err.message, 422);
        throw err;
      }
      const handle = startRunWorker({ runId: created.runId, dbPath, onEvent: (e) => events.emit(e) });
      running.set(created.runId, handle);
      void handle.done.then(() => running.delete(created.runId));
      return created.runId;
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
