/**
 * Group commit for the SQLite handle. In WAL mode a commit costs more than the rows it carries:
 * six lock calls and a header and a page write per changed page, about 40 µs of CPU on the
 * machines we measure against about 15 µs for the row itself (issue 14), and a small push made
 * ten of them (two upload-session rows and their deletion, two blob memberships, the manifest's
 * rows, the repository lease taken and given back, the recent-blob times).
 *
 * Writes handed to `run` in one turn of the event loop are applied together after it, in one
 * IMMEDIATE transaction, each inside its own savepoint: one write's failure (a constraint, a full
 * database) undoes that write alone and rejects its caller alone. Every caller's promise settles
 * after the COMMIT, so an acknowledged write is exactly as committed as when it had its own
 * transaction; a failed COMMIT rejects every caller of the batch, none of whose writes landed.
 * A write alone in its turn runs as before, in autocommit (or its own transaction).
 *
 * Order: the queue keeps call order, but a write made directly on the handle (the ports' other
 * writes: deletions, GC, auth records) applies at once, before batched writes queued earlier in
 * the same turn. Every caller awaits its write before anything depends on it, so that does not
 * matter today; a write that must never overtake a batched one belongs in the batch too.
 *
 * A write must be synchronous (better-sqlite3 statements and transaction functions). A write that
 * opens its own transaction (`db.transaction(fn)`, even `.immediate`) nests as a savepoint inside
 * the batch, whose IMMEDIATE begin already holds the write lock, so check-then-write stays atomic.
 */
import type { Db } from '../database.js';

interface Pending {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class WriteBatch {
  #queue: Pending[] = [];
  #scheduled = false;
  readonly #apply: (items: Pending[]) => Outcome[];
  /** Commits so far, and writes they carried (what group commit saves shows in their ratio). */
  commits = 0;
  writes = 0;

  constructor(private readonly db: Db) {
    // Runs one write in a savepoint (a transaction function called inside a transaction).
    const alone = db.transaction((write: () => unknown) => write());
    const all = db.transaction((items: Pending[]): Outcome[] =>
      items.map((item): Outcome => {
        try {
          return { ok: true, value: alone(item.write) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
    this.#apply = (items) => all.immediate(items);
  }

  /** Applies `write` with the writes of the same turn; settles once they are committed. */
  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  /** Applies what is queued now (also before the handle closes). */
  flush(): void {
    this.#scheduled = false;
    const items = this.#queue;
    if (items.length === 0) return;
    this.#queue = [];
    this.commits += 1;
    this.writes += items.length;
    if (!this.db.open) {
      for (const item of items) item.reject(new Error('metadata store is closed'));
      return;
    }
    if (items.length === 1) {
      const [item] = items as [Pending];
      try {
        item.resolve(item.write());
      } catch (err) {
        item.reject(err);
      }
      return;
    }
    let outcomes: Outcome[];
    try {
      outcomes = this.#apply(items);
    } catch (err) {
      for (const item of items) item.reject(err);
      return;
    }
    items.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }
}

const batches = new WeakMap<Db, WriteBatch>();

/** The one batch of a handle: every port on it shares it, so their writes share commits. */
export function writeBatchOf(db: Db): WriteBatch {
  let batch = batches.get(db);
  if (batch === undefined) {
    batch = new WriteBatch(db);
    batches.set(db, batch);
  }
  return batch;
}
