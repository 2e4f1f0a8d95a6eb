/**
 * Durable names: fsyncing a file makes its bytes durable, but the name a rename or link gives it
 * lives in the folder, and only an fsync of the folder makes that entry survive a power cut (ext4
 * without a journal, as on the machines we measure, guarantees nothing else). So the filesystem
 * driver syncs the folder after every rename or link that makes something visible, before the
 * write resolves, and syncs the parent of each folder it creates.
 *
 * Group commit: concurrent pushes rename into the same few folders (a repository's blob folder,
 * its index.json folder). One fsync covers every entry made before it starts, so callers that
 * arrive while one is running share the next one instead of each queuing their own.
 */
import { closeSync, fsync, openSync } from 'node:fs';
import path from 'node:path';

interface Slot {
  /** The fsync under way. */
  current: Promise<void>;
  /** The one that starts when `current` ends, shared by everyone who asked meanwhile. */
  next: Promise<void> | undefined;
}

export class FolderSync {
  readonly #slots = new Map<string, Slot>();
  /** Folder fsyncs started so far (what group commit saves shows here). */
  started = 0;

  /** Resolves once an fsync of `folder` that started after this call has finished. */
  sync(folder: string): Promise<void> {
    const slot = this.#slots.get(folder);
    if (slot === undefined) return this.#start(folder);
    // The running fsync may have begun before the caller's rename: wait for the next one.
    slot.next ??= slot.current.then(
      () => this.#start(folder),
      () => this.#start(folder),
    );
    return slot.next;
  }

  /**
   * After `mkdir -p` made `firstCreated` (its return value) and everything below it down to
   * `deepest`: syncs each new folder's parent, so the folders themselves survive too.
   */
  async created(firstCreated: string | undefined, deepest: string): Promise<void> {
    if (firstCreated === undefined) return;
    const parents: string[] = [];
    for (let dir = deepest; ; dir = path.dirname(dir)) {
      parents.push(path.dirname(dir));
      if (dir === firstCreated || path.dirname(dir) === dir) break;
    }
    await Promise.all(parents.map((p) => this.sync(p)));
  }

  #start(folder: string): Promise<void> {
    let slot = this.#slots.get(folder);
    if (slot === undefined) {
      slot = { current: Promise.resolve(), next: undefined };
      this.#slots.set(folder, slot);
    }
    const own = slot;
    own.next = undefined;
    this.started += 1;
    const run = fsyncFolder(folder).finally(() => {
      if (own.current === run && own.next === undefined) this.#slots.delete(folder);
    });
    own.current = run;
    return run;
  }
}

/**
 * Only the fsync goes to the thread pool. Opening and closing a folder that exists takes
 * microseconds (no new inode, no journal), less than the two extra thread-pool round trips they
 * cost as asynchronous calls, each a wake-up of a pool thread and a callback on the event loop
 * (issue 14: a small push syncs about four folders).
 */
function fsyncFolder(folder: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // Inside the executor: an open that throws rejects the promise.
    const fd = openSync(folder, 'r');
    fsync(fd, (syncErr) => {
      try {
        closeSync(fd);
      } catch {
        // The fsync's outcome is what the caller needs; a failed close loses nothing written.
      }
      // Some filesystems cannot fsync a folder (EINVAL); their names are as durable as they get.
      if (syncErr && syncErr.code !== 'EINVAL') reject(syncErr);
      else resolve();
    });
  });
}
