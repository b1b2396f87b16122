// Bundles the Node side (CLI + training worker + gradient peer) into out/cli with esbuild.
// Packages stay external so native addons (better-sqlite3) and tfjs's wasm files
// resolve from node_modules as usual.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

// src/main/worker-entry.ts finds the worker entries next to the CLI bundle.
const entryPoints = { veripo: 'src/main/cli/index.ts', 'grad-peer': 'src/main/train/grad-peer.ts' };
if (existsSync('src/main/loop/worker.ts')) entryPoints['worker'] = 'src/main/loop/worker.ts';

await build({
  entryPoints,
  outdir: 'out/cli',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
});
