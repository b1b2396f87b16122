// Before launching Electron: build better-sqlite3 for Electron's ABI into out/native, leaving the
// Node build in node_modules untouched (tests and the CLI keep working). The app passes the
// Electron build to better-sqlite3 through VERIPO_SQLITE_BINDING.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { electronBinary } from './electron-binary.mjs';

const { path } = electronBinary();
if (!path) process.exit(0); // start.mjs explains and falls back to web mode

const electronVersion = JSON.parse(readFileSync('node_modules/electron/package.json', 'utf8')).version;
const dest = join('out', 'native', `electron-${electronVersion}`);
const binding = join(dest, 'build', 'Release', 'better_sqlite3.node');
if (existsSync(binding)) process.exit(0);

console.log(`building better-sqlite3 for Electron ${electronVersion} into ${dest} (once)…`);
rmSync(dest, { recursive: true, force: true });
mkdirSync(dest, { recursive: true });
cpSync('node_modules/better-sqlite3', dest, { recursive: true, filter: (src) => !src.includes(`${'better-sqlite3'}/build`) });
const r = spawnSync(
  'npx',
  ['--yes', 'node-gyp', 'rebuild', '--release', `--target=${electronVersion}`, '--arch=' + process.arch, '--dist-url=https://electronjs.org/headers'],
  { cwd: dest, stdio: 'inherit' },
);
if (r.status !== 0) {
  console.error(
    'could not build better-sqlite3 for Electron (it needs Electron\'s headers from the network).\n' +
      'The CLI and web mode are unaffected: run `npx veripo serve` instead.',
  );
  process.exit(1);
}
