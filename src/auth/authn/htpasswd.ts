/**
 * An htpasswd file of bcrypt entries (`user:$2y$…`, as `htpasswd -B` writes them), checked with
 * bcryptjs and re-read when it changes.
 *
 * - Entries in other schemes (`$apr1$`, `{SHA}`, `$5$`, `$6$`, crypt, plain text) are skipped with a
 *   warning naming the user and the scheme, never the hash. zot also accepts `$5$`/`$6$` (SHA-crypt);
 *   Berth does not: they would need a second, hand-written password hashing implementation.
 * - Verification takes as long for an unknown user as for a known one: an unknown user's password is
 *   checked against a dummy hash of the file's most common cost.
 * - A correct password is remembered for a short while (an HMAC of it under a per-process random key,
 *   never the password), because registry clients send Basic credentials on every request and a
 *   pure-JS bcrypt check costs tens of milliseconds of CPU. Wrong passwords are always fully checked;
 *   the memory is dropped whenever the file is re-read.
 * - The file is polled with `fs.watchFile` (stat polling), which keeps working when editors and
 *   config management replace the file instead of writing it in place. If a re-read fails (the file
 *   is briefly missing), the previous users stay in force and a warning is logged.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import bcrypt from 'bcryptjs';
import { BCRYPT_BUSY, BcryptPool } from './bcrypt-pool.js';

/** The logging calls this module makes; a pino logger fits. */
export interface HtpasswdLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

export interface HtpasswdOptions {
  readonly logger?: HtpasswdLogger;
  /** Where bcrypt checks run. Default: one pool shared by the process. */
  readonly bcrypt?: BcryptPool;
  /** How often the file's metadata is polled for changes. Default 2 000 ms. */
  readonly pollIntervalMs?: number;
  /** How long a verified password is remembered; 0 turns the memory off. Default 60 000 ms. */
  readonly verifiedTtlMs?: number;
  /** Clock in milliseconds for the memory of verified passwords. Default `Date.now`. */
  readonly now?: () => number;
}

export interface RejectedEntry {
  /** 1-based line number in the file. */
  readonly line: number;
  readonly username: string;
  readonly reason: string;
}

export interface ParsedHtpasswd {
  /** User name → bcrypt hash. A user listed twice keeps the later line, as in zot. */
  readonly entries: ReadonlyMap<string, string>;
  readonly rejected: readonly RejectedEntry[];
}

/** What a reload listener hears: the new user count, or why the file could not be re-read. */
export type ReloadOutcome = { readonly users: number } | { readonly error: Error };

const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const DEFAULT_COST = 10;

function schemeOf(hash: string): string {
  if (hash.startsWith('$2')) return 'malformed bcrypt';
  if (hash.startsWith('$apr1$')) return 'apr1 (Apache MD5)';
  if (hash.startsWith('$1$')) return 'MD5-crypt';
  if (hash.startsWith('$5$')) return 'SHA-256-crypt';
  if (hash.startsWith('$6$')) return 'SHA-512-crypt';
  if (hash.startsWith('{SHA}')) return 'SHA-1';
  return 'crypt or plain text';
}

/** Parses htpasswd text. Blank lines and lines starting with `#` are skipped. */
export function parseHtpasswd(text: string): ParsedHtpasswd {
  const entries = new Map<string, string>();
  const rejected: RejectedEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const username = colon === -1 ? line : line.slice(0, colon);
    const hash = colon === -1 ? '' : line.slice(colon + 1);
    let reason: string | undefined;
    if (colon === -1) reason = 'no ":" separator';
    else if (username === '') reason = 'empty user name';
    else if (!BCRYPT.test(hash))
      reason = `unsupported password scheme: ${schemeOf(hash)}; use bcrypt (htpasswd -B)`;
    if (reason !== undefined) rejected.push({ line: index + 1, username, reason });
    else entries.set(username, hash);
  });
  return { entries, rejected };
}

/** The bcrypt cost most entries use, so that a dummy check costs what a real one usually does. */
function typicalCost(entries: ReadonlyMap<string, string>): number {
  const counts = new Map<number, number>();
  for (const hash of entries.values()) {
    const cost = Number(BCRYPT.exec(hash)?.[1] ?? DEFAULT_COST);
    counts.set(cost, (counts.get(cost) ?? 0) + 1);
  }
  let best = DEFAULT_COST;
  let bestCount = 0;
  for (const [cost, count] of counts) {
    if (count > bestCount || (count === bestCount && cost > best)) [best, bestCount] = [cost, count];
  }
  return best;
}

let sharedPool: BcryptPool | undefined;

function sharedBcryptPool(): BcryptPool {
  sharedPool ??= new BcryptPool();
  return sharedPool;
}

const dummyHashes = new Map<number, Promise<string>>();

function dummyHash(cost: number): Promise<string> {
  let hash = dummyHashes.get(cost);
  if (hash === undefined) {
    hash = bcrypt.hash(randomBytes(16).toString('hex'), cost);
    dummyHashes.set(cost, hash);
  }
  return hash;
}

interface Verified {
  readonly mac: Buffer;
  readonly at: number;
}

function changed(current: Stats, previous: Stats): boolean {
  return (
    current.mtimeMs !== previous.mtimeMs ||
    current.ctimeMs !== previous.ctimeMs ||
    current.ino !== previous.ino ||
    current.size !== previous.size
  );
}

export class HtpasswdFile {
  readonly path: string;
  readonly #logger: HtpasswdLogger | undefined;
  readonly #verifiedTtlMs: number;
  readonly #now: () => number;
  readonly #bcrypt: BcryptPool;
  readonly #macKey = randomBytes(32);
  readonly #listeners = new Set<(outcome: ReloadOutcome) => void>();
  #entries: ReadonlyMap<string, string> = new Map();
  #dummy = '';
  /** Bumped at every successful re-read, so a check that started before it cannot refill the memory. */
  #generation = 0;
  #verified = new Map<string, Verified>();
  #reloading: Promise<void> = Promise.resolve();
  #watching = false;
  readonly #onStat = (current: Stats, previous: Stats): void => {
    if (current.nlink === 0 && current.mtimeMs === 0) {
      this.#logger?.warn({ path: this.path }, 'htpasswd file disappeared; keeping the users loaded before');
      return;
    }
    if (changed(current, previous)) void this.reload().catch(() => undefined);
  };

  private constructor(path: string, options: HtpasswdOptions) {
    this.path = path;
    this.#logger = options.logger;
    this.#verifiedTtlMs = options.verifiedTtlMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#bcrypt = options.bcrypt ?? sharedBcryptPool();
  }

  /**
   * Reads the file and starts watching it. Rejects when the file cannot be read: a registry configured
   * for htpasswd must not start without its users.
   */
  static async open(path: string, options: HtpasswdOptions = {}): Promise<HtpasswdFile> {
    const file = new HtpasswdFile(path, options);
    await file.#load();
    watchFile(path, { persistent: false, interval: options.pollIntervalMs ?? 2_000 }, file.#onStat);
    file.#watching = true;
    return file;
  }

  /** Number of users with a usable entry. */
  get size(): number {
    return this.#entries.size;
  }

  has(username: string): boolean {
    return this.#entries.has(username);
  }

  /** Whether `password` is `username`'s. Never rejects; false when it could not be checked. */
  async verify(username: string, password: string): Promise<boolean> {
    return (await this.check(username, password)) === 'ok';
  }

  /**
   * Checks `password` on the bcrypt threads (`bcrypt-pool.ts`): `busy` when their queue is full
   * and the password was not checked at all. Never rejects.
   */
  async check(username: string, password: string): Promise<'ok' | 'wrong' | 'busy'> {
    const generation = this.#generation;
    const hash = this.#entries.get(username);
    const mac = createHmac('sha256', this.#macKey).update(username).update('\0').update(password).digest();
    if (hash !== undefined && this.#remembered(username, mac)) return 'ok';
    const outcome = await this.#bcrypt.compare(password, hash ?? this.#dummy);
    if (outcome === BCRYPT_BUSY) return 'busy';
    if (!outcome || hash === undefined) return 'wrong';
    if (this.#verifiedTtlMs > 0 && generation === this.#generation) {
      this.#verified.set(username, { mac, at: this.#now() });
    }
    return 'ok';
  }

  /**
   * Re-reads the file now (the watcher calls this on every change). On failure the previous users
   * stay in force, listeners hear the error, and the returned promise rejects.
   */
  reload(): Promise<void> {
    const next = this.#reloading.then(() => this.#load());
    this.#reloading = next.catch(() => undefined);
    return next;
  }

  /** Subscribes to re-reads; returns the unsubscribe function. */
  onReload(listener: (outcome: ReloadOutcome) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops watching the file. Verification keeps working with the users last loaded. */
  close(): void {
    if (this.#watching) unwatchFile(this.path, this.#onStat);
    this.#watching = false;
    this.#listeners.clear();
  }

  #remembered(username: string, mac: Buffer): boolean {
    const entry = this.#verified.get(username);
    if (entry === undefined) return false;
    if (this.#now() - entry.at >= this.#verifiedTtlMs) {
      this.#verified.delete(username);
      return false;
    }
    return timingSafeEqual(entry.mac, mac);
  }

  async #load(): Promise<void> {
    let parsed: ParsedHtpasswd;
    let dummy: string;
    try {
      parsed = parseHtpasswd(await readFile(this.path, 'utf8'));
      dummy = await dummyHash(typicalCost(parsed.entries));
    } catch (cause) {
      const error = cause instanceof Error ? cause : new Error(String(cause));
      this.#logger?.warn({ path: this.path, err: error.message }, 'failed to read htpasswd file');
      this.#emit({ error });
      throw error;
    }
    for (const r of parsed.rejected) {
      this.#logger?.warn(
        { path: this.path, line: r.line, user: r.username, reason: r.reason },
        'htpasswd entry ignored',
      );
    }
    this.#entries = parsed.entries;
    this.#dummy = dummy;
    this.#generation++;
    this.#verified = new Map();
    if (parsed.entries.size === 0)
      this.#logger?.warn({ path: this.path }, 'htpasswd file has no usable users');
    else this.#logger?.info({ path: this.path, users: parsed.entries.size }, 'loaded htpasswd file');
    this.#emit({ users: parsed.entries.size });
  }

  #emit(outcome: ReloadOutcome): void {
    for (const listener of this.#listeners) listener(outcome);
  }
}
