// Checkpoints that ship with the workbench (resources/checkpoints): small trained policies a run
// can start from, so a smoke check or a demo shows a policy that already writes readable chains.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root folder, found above this module (src/main/… under tsx, out/… when bundled), or null. */
export function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
  return dir;
}

/** The folder of shipped checkpoints. */
export function shippedCheckpointsDir(): string {
  return join(packageRoot() ?? process.cwd(), 'resources', 'checkpoints');
}

/** The tiny policy after cold-start SFT on easy video tasks, the smoke preset's starting point (recipe: resources/checkpoints/README.md). */
export function smokeCheckpoint(): string {
  return join(shippedCheckpointsDir(), 'smoke-tiny');
}
