// Opening the workbench database: WAL, foreign keys, migrations keyed by PRAGMA user_version.
import Database from 'better-sqlite3';
import { mkdirSync, readFileSync } from 'node:fs';
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
  const readonly = opts.readonly ?? false;
  let db: Db | undefined;
  try {
    if (file !== ':memory:' && !readonly) mkdirSync(dirname(file), { recursive: true });
    // Inside Electron, npm start points us at the Electron build of the addon (scripts/prestart.mjs).
    const nativeBinding = process.versions.electron ? process.env.VERIPO_SQLITE_BINDING : undefined;
    db = new Database(file, { readonly, fileMustExist: readonly, ...(nativeBinding ? { nativeBinding } : {}) });
    // Wait for other processes (a training worker, a second run) before anything that locks.
    db.pragma('busy_timeout = 10000');
    if (readonly) {
      // No migrations without write access: an older schema is read as it is.
      checkNotTooNew(db, file);
    } else {
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.pragma('synchronous = NORMAL');
      migrate(db, file);
    }
    return db;
  } catch (err) {
    if (db?.open) db.close();
    throw databaseError(err, file);
  }
}

/**
 * For commands that only read (`veripo runs list|show|compare`): the database opened for
 * writing when this user may write it (so dead runs can be marked interrupted), else read-only.
 */
export function openDbForReading(file: string): { db: Db; readonly: boolean } {
  try {
    const db = openDb(file);
    // SQLite opens a file it may not write read-only without a word; ask it.
    if (!db.readonly) return { db, readonly: false };
    db.close();
  } catch (err) {
    if (!isReadOnlyError(err)) throw err;
  }
  try {
    return { db: openDb(file, { readonly: true }), readonly: true };
  } catch (err) {
    if (!isReadOnlyError(err)) throw err;
  }
  return { db: openSnapshot(file), readonly: true };
}

/**
 * A WAL database in a folder this user cannot write: SQLite cannot create the shared-memory
 * file it reads WAL through, so read an in-memory copy of the main file (writes still in a
 * -wal file are not in it). Bytes 18-19 say WAL; a copy in memory must say rollback journal.
 */
function openSnapshot(file: string): Db {
  let db: Db | undefined;
  try {
    const bytes = readFileSync(file);
    if (bytes.length >= 20 && bytes[18] === 2 && bytes[19] === 2) bytes[18] = bytes[19] = 1;
    const nativeBinding = process.versions.electron ? process.env.VERIPO_SQLITE_BINDING : undefined;
    db = new Database(bytes, nativeBinding ? { nativeBinding } : {});
    db.pragma('query_only = ON');
    checkNotTooNew(db, file);
    return db;
  } catch (err) {
    if (db?.open) db.close();
    throw databaseError(err, file);
  }
}

function isReadOnlyError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'EACCES' || code === 'EROFS' || code === 'EPERM');
}

/** An error about the database file, always naming it (SQLite's own messages never do). */
export class DatabaseError extends Error {
  constructor(
    readonly file: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'DatabaseError';
  }
}

/** Name the file in any SQLite or file-system error about it ("file is not a database", "malformed", "readonly"). */
export function databaseError(err: unknown, file: string): Error {
  if (err instanceof DatabaseError || err instanceof SchemaTooNewError) return err;
  const native = nativeBuildError(err);
  if (native) return native;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown }).code;
  const isDbError = typeof code === 'string' && (code.startsWith('SQLITE_') || code.startsWith('E'));
  if (!isDbError) return err instanceof Error ? err : new Error(message);
  const hint = typeof code === 'string' && code.startsWith('SQLITE_READONLY') ? ' (the file or its folder is not writable by this user)' : '';
  return new DatabaseError(file, code as string, `${file}: ${message}${hint}`);
}

export function migrate(db: Db, file = db.name): void {
  const current = checkNotTooNew(db, file);
  if (current === SCHEMA_VERSION) return;
  // SQLite's way to change a table's constraints is to rebuild it; dropping the old table
  // with foreign keys on would cascade-delete every row that points at it.
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    for (let v = current; v < SCHEMA_VERSION; v++) {
      // Each migration and its version bump commit together: a crash leaves the old version intact.
      db.transaction(() => {
        db.exec(MIGRATIONS[v]!);
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) throw new Error(`${file}: migration ${v + 1} would leave ${broken.length} broken reference(s); nothing was changed`);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
  } finally {
    db.pragma(`foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`);
  }
}

function checkNotTooNew(db: Db, file: string): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) throw new SchemaTooNewError(file, current, SCHEMA_VERSION);
  return current;
}

/** better-sqlite3 built for Electron cannot load in Node (and vice versa): say how to fix it. */
function nativeBuildError(err: unknown): Error | null {
  const message = err instanceof Error ? err.message : String(err);
  if (/NODE_MODULE_VERSION|was compiled against a different Node\.js version/.test(message)) {
    return new Error(
      `better-sqlite3 was built for a different runtime (${message.split('\n')[0]}). ` +
        `For the CLI and tests run \`npm rebuild better-sqlite3\`; the desktop app uses its own build made by \`npm start\` (out/native).`,
    );
  }
  return null;
}

export function nowIso(): string {
  return new Date().toISOString();
}
