import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '../database.js';
import { describeUploadSessionsContract } from '../upload-sessions.contract.js';
import { SqliteUploadSessions } from './upload-sessions.js';

// Two connections to one database file, as two Berth processes on one data directory hold.
describeUploadSessionsContract('sqlite', async () => {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'berth-sessions-')), 'meta.db');
  return [new SqliteUploadSessions(openDatabase(file)), new SqliteUploadSessions(openDatabase(file))];
});
