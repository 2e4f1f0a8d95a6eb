/**
 * One ecosystem's OSV archive (`<Ecosystem>/all.zip`: one JSON advisory per entry), indexed by
 * the package names its advisories affect. Opening reads every entry once to build the index;
 * afterwards a lookup inflates only the entries that name the package, and keeps recently parsed
 * advisories (many images share their packages).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { LruMap } from '../../registry/lru.js';
import { matchKey, type OsvAdvisory } from './osv-match.js';
import { ZipReader, type ZipEntry } from './zip.js';

/** An OSV advisory is a few kilobytes; a huge entry is not one. */
const MAX_ADVISORY_BYTES = 8 * 1024 * 1024;

/** An entry's advisory, or undefined when it is not JSON with an `id` and an `affected` list. */
function parseAdvisory(data: Buffer): OsvAdvisory | undefined {
  try {
    const value = JSON.parse(data.toString('utf8')) as Partial<OsvAdvisory> | null;
    if (typeof value?.id !== 'string' || (value.affected !== undefined && !Array.isArray(value.affected)))
      return undefined;
    return value as OsvAdvisory;
  } catch {
    return undefined;
  }
}

export class OsvArchive {
  private readonly parsed = new LruMap<number, OsvAdvisory>(4_096);

  private constructor(
    private readonly zip: ZipReader,
    private readonly byName: Map<string, number[]>,
    readonly advisoryCount: number,
  ) {}

  /** Opens and indexes an archive; throws when it is not a readable OSV archive. */
  static async open(file: string): Promise<OsvArchive> {
    const zip = await ZipReader.open(file);
    try {
      const byName = new Map<string, number[]>();
      let count = 0;
      let unreadable = 0;
      let seen = 0;
      for await (const { index, entry, data } of zip.all(MAX_ADVISORY_BYTES)) {
        if (!entry.name.endsWith('.json')) continue;
        if (++seen % 500 === 0) await yieldToEventLoop();
        const advisory = data && parseAdvisory(data);
        // One bad entry in a large archive is skipped; an archive of bad entries is refused below.
        if (!advisory) {
          unreadable++;
          continue;
        }
        count++;
        const keys = new Set<string>();
        for (const a of advisory.affected ?? []) {
          if (a.package?.ecosystem && a.package.name) keys.add(matchKey(a.package.ecosystem, a.package.name));
        }
        for (const key of keys) {
          const list = byName.get(key);
          if (list) list.push(index);
          else byName.set(key, [index]);
        }
      }
      if (count === 0 || unreadable > count / 100) {
        throw new Error(`not an OSV archive: ${count} advisories, ${unreadable} unreadable entries`);
      }
      return new OsvArchive(zip, byName, count);
    } catch (err) {
      await zip.close();
      throw err;
    }
  }

  /** The advisories that name the package (`matchKey` form); whether they affect it is for the caller. */
  async advisoriesFor(key: string): Promise<OsvAdvisory[]> {
    const out: OsvAdvisory[] = [];
    for (const i of this.byName.get(key) ?? []) {
      let advisory = this.parsed.get(i);
      if (!advisory) {
        const entry: ZipEntry = this.zip.entries[i]!;
        advisory = parseAdvisory(await this.zip.read(entry, MAX_ADVISORY_BYTES));
        if (!advisory) continue;
        this.parsed.set(i, advisory);
      }
      out.push(advisory);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.zip.close();
  }
}
