// npm run dist: package the desktop app (Linux AppImage + deb) with electron-builder, fuses set
// by scripts/electron-fuses.cjs. It needs the Electron binary; where it cannot be downloaded
// this stops at once with the reason instead of failing deep inside the packager.
import { spawnSync } from 'node:child_process';
import { electronBinary } from './electron-binary.mjs';

const { path, reason } = electronBinary();
if (!path) {
  console.error(
    `npm run dist: cannot package the desktop app: the Electron binary is not installed (${reason}).\n` +
      'On a machine with network access run `node node_modules/electron/install.js` (or reinstall\n' +
      'without ELECTRON_SKIP_BINARY_DOWNLOAD), then `npm run dist` again. Web mode (`npx veripo serve`)\n' +
      'needs no Electron.',
  );
  process.exit(1);
}
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('npx', ['electron-vite', 'build']);
run('npx', ['electron-builder', '--config', 'electron-builder.yml', '--linux', ...process.argv.slice(2)]);
