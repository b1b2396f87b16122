// Bundles the Node side (CLI + training worker) into out/cli with esbuild.
// Packages stay external so native addons (better-sqlite3) and tfjs's wasm files
// resolve from node_modules as usual.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const entryPoints = { veripo: 'src/main/cli/index.ts' };
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
