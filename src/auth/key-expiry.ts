/**
 * API-key expiry made visible: the `berth_apikey_expiry_timestamp_seconds{user,label}` gauge (read
 * from the database at every scrape, so every replica reports the same), and a warning log line
 * for each key that expires within a week, checked at start and twice a day. Alert on
 * `berth_apikey_expiry_timestamp_seconds - time() < 7*86400`.
 */
import type { Logger } from 'pino';
import { Gauge, type Registry as MetricsRegistry } from 'prom-client';
import type { KeySummary } from '../meta/api-key-groups.js';
import { expiresSoon } from './service-accounts.js';

export const EXPIRY_METRIC = 'berth_apikey_expiry_timestamp_seconds';
const CHECK_INTERVAL_MS = 12 * 60 * 60 * 1000;

/** `list` gives every key, or undefined while API keys are off. */
export type KeyLister = () => Promise<readonly KeySummary[] | undefined>;

export function registerKeyExpiryMetric(registry: MetricsRegistry, list: KeyLister): void {
  if (registry.getSingleMetric(EXPIRY_METRIC) !== undefined) return;
  new Gauge({
    name: EXPIRY_METRIC,
    help: 'When each API key expires (Unix seconds); keys that never expire are not listed',
    labelNames: ['user', 'label'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const key of (await list()) ?? []) {
        if (key.expiresAt === undefined) continue;
        this.set({ user: key.owner, label: key.label }, Math.floor(key.expiresAt.getTime() / 1000));
      }
    },
  });
}

export class KeyExpiryWarnings {
  readonly #list: KeyLister;
  readonly #log: Logger;
  readonly #now: () => Date;
  #timer: NodeJS.Timeout | undefined;

  constructor(list: KeyLister, log: Logger, now: () => Date = () => new Date()) {
    this.#list = list;
    this.#log = log;
    this.#now = now;
  }

  /** Logs one warning per key expiring within a week; returns how many. */
  async check(): Promise<number> {
    const now = this.#now();
    let count = 0;
    for (const key of (await this.#list()) ?? []) {
      if (!expiresSoon(key.expiresAt, now)) continue;
      count++;
      this.#log.warn(
        { user: key.owner, label: key.label, keyId: key.id, expirationDate: key.expiresAt!.toISOString() },
        `API key ${JSON.stringify(key.label)} of ${key.owner} expires within a week: create its successor (berth keys create)`,
      );
    }
    return count;
  }

  start(): void {
    const run = (): void =>
      void this.check().catch((err: unknown) => this.#log.error({ err }, 'API key expiry check failed'));
    run();
    this.#timer ??= setInterval(run, CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
