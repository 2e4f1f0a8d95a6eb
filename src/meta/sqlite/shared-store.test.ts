import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeSharedStoreContract } from '../shared-store.contract.js';
import { openSqliteStore } from './store.js';

describeSharedStoreContract('SQLite, two handles on one database file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-meta-'));
  const file = path.join(dir, 'meta.db');
  const a = openSqliteStore(file);
  const b = openSqliteStore(file);
  return {
    a: a.meta,
    b: b.meta,
    close: async () => {
      await a.meta.close();
      await b.meta.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
