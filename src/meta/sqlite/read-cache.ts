/**
 * Answers of hot read queries (catalog pages, tag resolutions), kept only while the database
 * provably has not changed since they were read. SQLite says so cheaply: `PRAGMA data_version`
 * moves whenever another connection (another process, another replica on this file) commits, and
 * `total_changes()` whenever this connection inserts, updates or deletes a row, in any table.
 * Checking both costs about 1 µs on this machine; a catalog page of 100 repositories costs
 * 40–70 µs to read, a tag resolution 10–20 µs. The database stays the only truth: nothing here is
 * believed without that check, so processes never disagree for longer than a query would.
 *
 * Any change anywhere empties every cache (no per-key invalidation to get wrong); a rolled-back
 * write still counts as a change, which only empties a cache more often than needed.
 */
import type { Db } from '../database.js';

/** Entries per cache before it is emptied whole (a bound on memory, not an eviction policy). */
const MAX_ENTRIES = 4096;

export class ReadCache {
  private readonly dataVersion;
  private readonly totalChanges;
  private stampVersion = -1;
  private stampChanges = -1;
  private readonly caches: Map<string, unknown>[] = [];

  constructor(db: Db) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.totalChanges = db.prepare('SELECT total_changes()').pluck();
  }

  /** A cache of one kind of answer, emptied with the others when the database changes. */
  map<V>(): Map<string, V> {
    const map = new Map<string, V>();
    this.caches.push(map);
    return map;
  }

  /**
   * Returns the cached answer for `key`, or reads it with `read` and keeps it. The stamp is taken
   * before the read: a commit landing between the two only makes the next call read again.
   */
  get<V>(map: Map<string, V>, key: string, read: () => V): V {
    this.validate();
    const hit = map.get(key);
    if (hit !== undefined || map.has(key)) return hit as V;
    const value = read();
    if (map.size >= MAX_ENTRIES) map.clear();
    map.set(key, value);
    return value;
  }

  private validate(): void {
    const version = this.dataVersion.get() as number;
    const changes = this.totalChanges.get() as number;
    if (version === this.stampVersion && changes === this.stampChanges) return;
    for (const map of this.caches) map.clear();
    this.stampVersion = version;
    this.stampChanges = changes;
  }
}
