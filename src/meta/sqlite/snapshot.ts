/**
 * A consistent copy of a SQLite metadata database that writes nothing beside it, for `berth
 * migrate` to read a source's records (API keys, users, stars) while leaving the source folder as
 * it was: opening the file itself, even read-only, would create `-wal` and `-shm` files beside a
 * database closed cleanly, and would run this build's migrations on it.
 *
 * A database with a `-wal` file beside it is open (a server still serving) or was not closed
 * cleanly: a read-only handle then sees the committed state, WAL included, and `VACUUM INTO`
 * writes that state to the copy in one read transaction (on a read-only mount too: SQLite reads a
 * `-shm` it may not write). Without one, everything committed is
 * in the main file, and a plain file copy is the snapshot.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';

/** Copies `file` to `into` (which must not exist); false when there is no database at `file`. */
export async function snapshotSqliteDatabase(file: string, into: string): Promise<boolean> {
  if (!existsSync(file)) return false;
  if (!existsSync(`${file}-wal`)) {
    await copyFile(file, into);
    return true;
  }
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare('VACUUM INTO ?').run(into);
  } finally {
    db.close();
  }
  return true;
}
