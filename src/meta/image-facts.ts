/**
 * What the search extension derives once from a manifest's content (config, layers, history,
 * annotations, children), keyed by digest alone: equal digests have equal content, so the facts
 * hold in every repository and never go stale. Reading them is one indexed row instead of a
 * manifest and a config from storage; this is what keeps `ExpandedRepoInfo` of 100 tags fast.
 *
 * Async methods over a synchronous driver, so that moving to the metadata-store port is mechanical.
 */
import { migrateModule, type Db } from './database.js';

export const IMAGE_FACTS_MIGRATIONS = [
  `CREATE TABLE search_image_facts (
     digest TEXT PRIMARY KEY,
     facts TEXT NOT NULL
   ) WITHOUT ROWID;`,
];

export class ImageFactsStore<T> {
  private readonly s;

  constructor(db: Db) {
    migrateModule(db, 'search-image-facts', IMAGE_FACTS_MIGRATIONS);
    this.s = {
      get: db.prepare('SELECT facts FROM search_image_facts WHERE digest = ?').pluck(),
      put: db.prepare(
        'INSERT INTO search_image_facts (digest, facts) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING',
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
