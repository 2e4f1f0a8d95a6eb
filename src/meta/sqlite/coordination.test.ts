import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeCoordinationContract } from '../../coordination/contract.js';
import { openDatabase } from '../database.js';
import { SqliteCoordination } from './coordination.js';

describeCoordinationContract('SQLite, two handles on one database file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-coord-'));
  const file = path.join(dir, 'meta.db');
  const dbA = openDatabase(file);
  const dbB = openDatabase(file);
  return {
    a: new SqliteCoordination(dbA),
    b: new SqliteCoordination(dbB),
    close: async () => {
      dbA.close();
      dbB.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
