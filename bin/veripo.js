#!/usr/bin/env node
// The `veripo` command. Runs the esbuild bundle made by `npm install` (prepare);
// falls back to the TypeScript sources through tsx in a checkout without a build.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundled = join(root, 'out/cli/veripo.mjs');
if (existsSync(bundled)) {
  await import(pathToFileURL(bundled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src/main/cli/index.ts')).href);
}
