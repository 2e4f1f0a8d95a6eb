/**
 * LISTEN/NOTIFY for one store: a dedicated connection (outside the pool, since LISTEN belongs to a
 * session and a pooled connection goes back to other users) that hears what other replicas
 * announce, and wakes whoever waits for it in this process. Used to wake lock waiters the moment
 * a lease is released on another replica, instead of polling.
 *
 * Notifications are an optimisation only: when the connection drops, every waiter is woken (they
 * look again and go back to polling at their own pace) and the listener reconnects with backoff.
 * Nothing is lost that a poll would not find.
 */
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { applicationName, checkSchemaName } from './database.js';

export interface ListenerOptions {
  url: string;
  schema: string;
  onError?: (err: Error) => void;
}

/** The channel of one schema (replicas of one deployment share it; other schemas do not hear it). */
export function channelOf(schema: string): string {
  return `berth_${checkSchemaName(schema)}`.slice(0, 63);
}

export class Notifications {
  readonly channel: string;
  readonly #waiters = new Map<string, Set<() => void>>();
  #client: pg.Client | undefined;
  #closed = false;
  /** The background reconnection loop, while one runs. */
  #connecting: Promise<void> | undefined;

  constructor(private readonly options: ListenerOptions) {
    this.channel = channelOf(options.schema);
  }

  /**
   * Connects and starts listening. Resolves after the first attempt whatever its outcome: a store
   * without notifications still works (waiters poll), so a failure never blocks start-up; the
   * listener keeps trying in the background.
   */
  async start(): Promise<void> {
    if (this.#connecting) return;
    if (await this.#attempt()) return;
    this.#connecting = this.#retry().finally(() => (this.#connecting = undefined));
  }

  async #retry(): Promise<void> {
    let delay = 100;
    while (!this.#closed) {
      await sleep(delay);
      if (await this.#attempt()) return;
      delay = Math.min(5_000, delay * 2);
    }
  }

  /** One connection attempt; true when listening (or closed meanwhile). */
  async #attempt(): Promise<boolean> {
    const client = new pg.Client({
      connectionString: this.options.url,
      connectionTimeoutMillis: 10_000,
      application_name: applicationName(this.options.schema),
    });
    try {
      client.on('error', (err) => this.#lost(client, err));
      client.on('end', () => this.#lost(client));
      client.on('notification', (message) => {
        if (message.channel === this.channel && message.payload !== undefined) this.#wake(message.payload);
      });
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      if (this.#closed) {
        await client.end().catch(() => undefined);
        return true;
      }
      this.#client = client;
      return true;
    } catch (err) {
      this.options.onError?.(err as Error);
      await client.end().catch(() => undefined);
      return false;
    }
  }

  #lost(client: pg.Client, err?: Error): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    if (err) this.options.onError?.(err);
    // Messages may have been missed: everyone looks again.
    for (const key of [...this.#waiters.keys()]) this.#wake(key);
    if (!this.#closed) void this.start();
  }

  #wake(key: string): void {
    const waiters = this.#waiters.get(key);
    if (!waiters) return;
    this.#waiters.delete(key);
    for (const wake of waiters) wake();
  }

  /**
   * Resolves when `key` is announced, or after `ms` at the latest (a missed or never-sent message
   * costs one poll interval).
   */
  async wait(key: string, ms: number): Promise<void> {
    let wake!: () => void;
    const announced = new Promise<void>((resolve) => (wake = resolve));
    let set = this.#waiters.get(key);
    if (!set) this.#waiters.set(key, (set = new Set()));
    set.add(wake);
    const timer = new AbortController();
    try {
      await Promise.race([announced, sleep(ms, undefined, { signal: timer.signal }).catch(() => undefined)]);
    } finally {
      timer.abort();
      this.#waiters.get(key)?.delete(wake);
      if (this.#waiters.get(key)?.size === 0) this.#waiters.delete(key);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#connecting;
    const client = this.#client;
    this.#client = undefined;
    for (const key of [...this.#waiters.keys()]) this.#wake(key);
    await client?.end().catch(() => undefined);
  }
}
