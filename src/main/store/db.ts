// Opening the workbench database: WAL, foreign keys, migrations keyed by PRAGMA user_version.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { homedir } from 'node:os';
import { MIGRATIONS } from './migrations';

export type Db = Database.Database;

export const SCHEMA_VERSION = MIGRATIONS.length;

export class SchemaTooNewError extends Error {
  constructor(readonly file: string, readonly found: number, readonly supported: number) {
    super(
      `${file}: database schema version ${found} is newer than this workbench supports (${supported}). ` +
        `Upgrade VerIPO Workbench, or open a different file with --db.`,
    );
  }
}

/** The CLI's default database: $VERIPO_HOME/veripo.db, VERIPO_HOME defaulting to ~/.veripo. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.VERIPO_HOME && env.VERIPO_HOME.trim() ? env.VERIPO_HOME : join(homedir(), '.veripo');
  return join(home, 'veripo.db');
}

export function openDb(file: string, opts: { readonly?: boolean } = {}): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  let db: Db;
  try {
    // Inside Electron, npm start points us at the Electron build of the addon (scripts/prestart.mjs).
    const nativeBinding = process.versions.electron ? process.env.VERIPO_SQLITE_BINDING : undefined;
    db = new Database(file, { readonly: opts.readonly ?? false, ...(nativeBinding ? { nativeBinding } : {}) });
  } catch (err) {
    throw wrapNativeError(err, file);
  }
  // Wait for other processes (a training worker, a second run) before anything that locks.
  db.pragma('busy_timeout = 10000');
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  migrate(db, file);
  return db;
}

export function migrate(db: Db, file = db.name): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    db.close();
    throw new SchemaTooNewError(file, current, SCHEMA_VERSION);
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    // Each migration and its version bump commit together: a crash leaves the old version intact.
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** better-sqlite3 built for Electron cannot load in Node (and vice versa): say how to fix it. */
function wrapNativeError(err: unknown, file: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (/NODE_MODULE_VERSION|was compiled against a different Node\.js version/.test(message)) {
    return new Error(
      `better-sqlite3 was built for a different runtime (${message.split('\n')[0]}). ` +
        `For the CLI and tests run \`npm rebuild better-sqlite3\`; the desktop app uses its own build made by \`npm start\` (out/native).`,
    );
  }
  return new Error(`${file}: cannot open database: ${message}`);
}

export function nowIso(): string {
  return new Date().toISOString();
}
