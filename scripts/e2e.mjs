// npm run test:e2e: build the app (renderer + CLI bundle), fill a database with a real smoke run
// of the loop and another with a real `veripo experiment`, then run the browser tests against
// web mode over them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (cmd, args, env = process.env) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', shell: false, env });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('npx', ['electron-vite', 'build']);
run('node', ['scripts/build-cli.mjs']);

let db = process.env.VERIPO_E2E_DB;
if (!db || !existsSync(db)) {
  const home = mkdtempSync(join(tmpdir(), 'veripo-e2e-'));
  db = join(home, 'smoke.db');
  console.log(`--- a real smoke run for the UI tests → ${db}`);
  const started = Date.now();
  run('node', ['bin/veripo.js', 'run', '--preset', 'smoke', '--db', db], { ...process.env, VERIPO_HOME: home });
  console.log(`--- smoke run took ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
// The documented experiment command, once, end to end (tests/e2e/experiment.e2e.test.ts reads its DB).
let experimentDb = process.env.VERIPO_E2E_EXPERIMENT_DB;
if (!experimentDb || !existsSync(experimentDb)) {
  const home = mkdtempSync(join(tmpdir(), 'veripo-e2e-experiment-'));
  experimentDb = join(home, 'experiment.db');
  console.log(`--- veripo experiment --methods veripo,grpo --seeds 0 --budget 60s --set model.preset=tiny → ${experimentDb}`);
  const started = Date.now();
  run('node', ['bin/veripo.js', 'experiment', '--methods', 'veripo,grpo', '--seeds', '0', '--budget', '60s', '--set', 'model.preset=tiny', '--name', 'ci-experiment', '--db', experimentDb], { ...process.env, VERIPO_HOME: home });
  console.log(`--- the experiment took ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
run('npx', ['vitest', 'run', '--config', 'vitest.e2e.config.ts'], { ...process.env, VERIPO_E2E_DB: db, VERIPO_E2E_EXPERIMENT_DB: experimentDb });
