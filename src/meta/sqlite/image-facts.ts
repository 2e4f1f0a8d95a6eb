/** The ImageFacts port on SQLite: table `search_image_facts` (module `search-image-facts`, as released). */
import { migrateModule, type Db } from '../database.js';
import type { ImageFactsStore } from '../image-facts.js';

const IMAGE_FACTS_MIGRATIONS = [
  `CREATE TABLE search_image_facts (
     digest TEXT PRIMARY KEY,
     facts TEXT NOT NULL
   ) WITHOUT ROWID;`,
];

export class SqliteImageFacts<T> implements ImageFactsStore<T> {
  private readonly s;

  constructor(db: Db) {
    migrateModule(db, 'search-image-facts', IMAGE_FACTS_MIGRATIONS);
    this.s = {
      get: db.prepare('SELECT facts FROM search_image_facts WHERE digest = ?').pluck(),
      // Replaces: facts stored in an older shape are rewritten by the reader that re-derives them.
      put: db.prepare(
        'INSERT INTO search_image_facts (digest, facts) VALUES (?, ?) ON CONFLICT (digest) DO UPDATE SET facts = excluded.facts',
      ),
    };
  }

  async get(digest: string): Promise<T | undefined> {
    const text = this.s.get.get(digest) as string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  async put(digest: string, facts: T): Promise<void> {
    this.s.put.run(digest, JSON.stringify(facts));
  }
}
