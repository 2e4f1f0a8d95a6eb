/** A size-capped map that evicts the least recently used entry (Map keeps insertion order). */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
  /**
   * The key used last, already at the map's end: asking for it again moves nothing (a delete and
   * a set per hit leave holes the Map must compact; an answer naming one digest 100,000 times
   * spent a third of its time there).
   */
  private newest: K | undefined;

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    if (key !== this.newest) {
      this.map.delete(key);
      this.map.set(key, value);
      this.newest = key;
    }
    return value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    this.newest = key;
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.map.delete(key);
    if (key === this.newest) this.newest = undefined;
  }

  clear(): void {
    this.map.clear();
    this.newest = undefined;
  }
}
