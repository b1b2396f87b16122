// npm run test:e2e: build the app (renderer + CLI bundle), then run the browser tests.
import { spawnSync } from 'node:child_process';

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', shell: false });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('npx', ['electron-vite', 'build']);
run('node', ['scripts/build-cli.mjs']);
run('npx', ['vitest', 'run', '--config', 'vitest.e2e.config.ts']);
