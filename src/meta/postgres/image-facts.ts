/** The ImageFacts port on PostgreSQL (module `search-image-facts`): JSON text per digest, as on SQLite. */
import type { ImageFactsStore } from '../image-facts.js';
import type { Migrations, Pool } from './database.js';

export const IMAGE_FACTS_MIGRATIONS: Migrations = {
  module: 'search-image-facts',
  steps: [
    `CREATE TABLE search_image_facts (
       digest TEXT PRIMARY KEY,
       facts TEXT NOT NULL
     );`,
  ],
};

export class PostgresImageFacts<T> implements ImageFactsStore<T> {
  constructor(private readonly pool: Pool) {}

  async get(digest: string): Promise<T | undefined> {
    const { rows } = await this.pool.query<{ facts: string }>(
      'SELECT facts FROM search_image_facts WHERE digest = $1',
      [digest],
    );
    return rows[0] === undefined ? undefined : (JSON.parse(rows[0].facts) as T);
  }

  async put(digest: string, facts: T): Promise<void> {
    await this.pool.query(
      `INSERT INTO search_image_facts (digest, facts) VALUES ($1, $2)
       ON CONFLICT (digest) DO UPDATE SET facts = excluded.facts`,
      [digest, JSON.stringify(facts)],
    );
  }
}
