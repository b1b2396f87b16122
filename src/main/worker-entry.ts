// Starts a worker_threads entry in whichever build is running. Each entry is bundled as its
// own file: out/cli/<name>.mjs (esbuild, scripts/build-cli.mjs) or out/main/<name>.js
// (electron-vite, electron.vite.config.ts); from sources (tsx, vitest) the .ts entry is
// loaded through tsx's loader inside the new thread.
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Entry base name -> source path relative to src/main (this file's folder). */
const ENTRY_SOURCES = {
  worker: 'loop/worker.ts',
  'grad-peer': 'train/grad-peer.ts',
} as const;

export type WorkerEntry = keyof typeof ENTRY_SOURCES;

export function spawnEntryWorker(entry: WorkerEntry, options: WorkerOptions = {}): Worker {
  const here = dirname(fileURLToPath(import.meta.url));
  // Bundlers inline this module into an entry (out/cli, out/main) or into a shared chunk one
  // folder below it (electron-vite's out/main/chunks), so look in both places.
  for (const dir of [here, dirname(here)]) {
    for (const ext of ['.mjs', '.js']) {
      const file = join(dir, entry + ext);
      if (existsSync(file)) return new Worker(file, options);
    }
  }
  const ts = join(here, ENTRY_SOURCES[entry]);
  if (!existsSync(ts)) throw new Error(`worker entry ${entry} not found near ${here}: run \`npm run build:cli\``);
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(ts).href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
