/**
 * The OSV data Berth scans against: one archive per ecosystem, downloaded from
 * `<osvUrl>/<Ecosystem>/all.zip` (the layout of OSV's public bucket) into a folder under the
 * storage root, and replaced only by a download that opens and indexes completely: a failed or
 * partial update keeps the previous data. Each process keeps its own index of the files; the
 * files are shared, and replaced by atomic renames.
 *
 * The data version names the content (a digest of the archives' digests): scans record it, and a
 * scan of an older version is redone.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { InstalledPackage } from './inventory/index.js';
import { OsvArchive } from './osv-archive.js';
import { matchKey, type OsvAdvisory } from './osv-match.js';

/** A download that takes longer than this is abandoned (the largest archives are a few hundred MiB). */
const DOWNLOAD_TIMEOUT_MS = 30 * 60_000;
/** Readers of a replaced archive get this long to finish before its file handle closes. */
const CLOSE_DELAY_MS = 5 * 60_000;

interface ArchiveState {
  sha256: string;
  etag: string | null;
  fetchedAt: string;
}

export interface OsvDatabaseOptions {
  dir: string;
  baseUrl: string;
  ecosystems: string[];
  log: Logger;
}

export interface UpdateResult {
  /** Whether the data version changed. */
  changed: boolean;
  /** Ecosystems whose download failed (their previous data, if any, stays). */
  failed: string[];
}

export class OsvDatabase {
  private readonly archives = new Map<string, OsvArchive>();
  private state: Record<string, ArchiveState> = {};
  private currentVersion: string | undefined;

  constructor(private readonly options: OsvDatabaseOptions) {}

  /** The version of the loaded data, or undefined while there is none. */
  get version(): string | undefined {
    return this.currentVersion;
  }

  private file(ecosystem: string): string {
    return path.join(this.options.dir, `${ecosystem}.zip`);
  }

  private get stateFile(): string {
    return path.join(this.options.dir, 'state.json');
  }

  /** Loads what a previous run (or another process) downloaded. */
  async loadFromDisk(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    try {
      this.state = JSON.parse(await readFile(this.stateFile, 'utf8')) as Record<string, ArchiveState>;
    } catch {
      this.state = {};
    }
    for (const ecosystem of this.options.ecosystems) {
      if (!this.state[ecosystem]) continue;
      try {
        this.swap(ecosystem, await OsvArchive.open(this.file(ecosystem)));
      } catch (err) {
        this.options.log.warn(
          { err, ecosystem },
          'stored OSV archive unreadable; it will be downloaded again',
        );
        delete this.state[ecosystem];
      }
    }
    this.computeVersion();
  }

  /** Downloads every ecosystem's archive that changed upstream. */
  async update(): Promise<UpdateResult> {
    await mkdir(this.options.dir, { recursive: true });
    const before = this.currentVersion;
    const failed: string[] = [];
    for (const ecosystem of this.options.ecosystems) {
      try {
        await this.updateOne(ecosystem);
      } catch (err) {
        failed.push(ecosystem);
        this.options.log.warn({ err, ecosystem }, 'OSV data update failed; keeping the previous data');
      }
    }
    this.computeVersion();
    await writeFile(`${this.stateFile}.${process.pid}`, JSON.stringify(this.state, null, 2));
    await rename(`${this.stateFile}.${process.pid}`, this.stateFile);
    return { changed: this.currentVersion !== before, failed };
  }

  private async updateOne(ecosystem: string): Promise<void> {
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(ecosystem)}/all.zip`;
    const previous = this.archives.has(ecosystem) ? this.state[ecosystem] : undefined;
    const response = await fetch(url, {
      headers: previous?.etag ? { 'if-none-match': previous.etag } : {},
      signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
      redirect: 'follow',
    });
    if (response.status === 304 && previous) return;
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new Error(`GET ${url}: HTTP ${response.status}`);
    }
    const temporary = `${this.file(ecosystem)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const hash = createHash('sha256');
      const digest = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(Readable.fromWeb(response.body), digest, createWriteStream(temporary));
      const sha256 = hash.digest('hex');
      if (previous?.sha256 === sha256) return;
      // Refuse what does not open as an OSV archive before it replaces anything.
      const archive = await OsvArchive.open(temporary);
      await rename(temporary, this.file(ecosystem));
      this.swap(ecosystem, archive);
      this.state[ecosystem] = {
        sha256,
        etag: response.headers.get('etag'),
        fetchedAt: new Date().toISOString(),
      };
      this.options.log.info({ ecosystem, advisories: archive.advisoryCount }, 'OSV data updated');
    } finally {
      await rm(temporary, { force: true });
    }
  }

  private swap(ecosystem: string, archive: OsvArchive): void {
    const old = this.archives.get(ecosystem);
    this.archives.set(ecosystem, archive);
    if (old) setTimeout(() => void old.close().catch(() => undefined), CLOSE_DELAY_MS).unref();
  }

  private computeVersion(): void {
    const parts = this.options.ecosystems
      .filter((e) => this.archives.has(e) && this.state[e])
      .map((e) => `${e}:${this.state[e]!.sha256}`);
    this.currentVersion =
      parts.length === 0
        ? undefined
        : createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);
  }

  /** The advisories naming a package in its ecosystem's archive. */
  async advisoriesFor(pkg: InstalledPackage): Promise<OsvAdvisory[]> {
    const archive = this.archives.get(pkg.ecosystem.split(':', 1)[0]!);
    if (!archive) return [];
    return archive.advisoriesFor(matchKey(pkg.ecosystem, pkg.matchName ?? pkg.name));
  }

  async close(): Promise<void> {
    for (const archive of this.archives.values()) await archive.close();
    this.archives.clear();
  }
}
