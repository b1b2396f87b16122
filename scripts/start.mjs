// npm start: build and launch the desktop app; without an Electron binary, say so in one line
// and start web mode instead.
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { electronBinary } from './electron-binary.mjs';

const build = spawnSync('npx', ['electron-vite', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const { path, reason } = electronBinary();
const args = process.argv.slice(2);
if (!path) {
  console.log(`Electron is not installed (${reason}); starting web mode instead.`);
  const child = spawn(process.execPath, ['bin/veripo.js', 'serve', ...args], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  const version = JSON.parse(readFileSync('node_modules/electron/package.json', 'utf8')).version;
  const binding = resolve(join('out', 'native', `electron-${version}`, 'build', 'Release', 'better_sqlite3.node'));
  const child = spawn(path, ['.', ...args], { stdio: 'inherit', env: { ...process.env, VERIPO_SQLITE_BINDING: binding } });
  child.on('exit', (code) => process.exit(code ?? 0));
}
