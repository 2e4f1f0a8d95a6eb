/**
 * Collapses concurrent calls for the same key into one: while a call for a key runs, later callers
 * get its promise instead of starting their own. Nothing is cached once it settles.
 */
export class SingleFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  run(key: string, fn: () => Promise<T>): Promise<T> {
    const current = this.running.get(key);
    if (current) return current;
    // fn starts on a later tick, so the entry exists before it can settle.
    const started: Promise<T> = Promise.resolve()
      .then(fn)
      .finally(() => {
        if (this.running.get(key) === started) this.running.delete(key);
      });
    this.running.set(key, started);
    return started;
  }

  /** Whether a call for `key` is running. */
  has(key: string): boolean {
    return this.running.has(key);
  }

  /** Every call still running, to wait for them on shutdown. */
  pending(): Promise<T>[] {
    return [...this.running.values()];
  }
}
