/**
 * For the operations tests (GC, metrics, scrub, audit): a Berth app built in-process on a fresh
 * temporary root, listening on a loopback port, with its log lines captured and a clock that tests
 * move forward instead of sleeping. Not used by Berth itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { buildApp, type App, type BuildOptions } from '../app.js';
import { parseConfig } from '../config/index.js';
import type { ExtensionFactory } from '../extensions.js';

/** A clock that runs with real time plus an offset that tests advance. */
export class TestClock {
  offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface TestApp {
  app: App;
  /** `http://127.0.0.1:PORT` */
  url: string;
  root: string;
  /** Every log line written so far, parsed. */
  logs(): Record<string, unknown>[];
  close(): Promise<void>;
}

export interface TestAppOptions {
  extensions?: ExtensionFactory[];
  access?: BuildOptions['access'];
  /** An existing root (restart on the same data); removed on close only when created here. */
  root?: string;
  /** Raw SQLite pragmas applied after migrations (a full database: `max_page_count = 1`). */
  sqlitePragmas?: string[];
}

const HOUR = 3_600_000;
export { HOUR };

/** Builds and starts an app from a zot-format config (`storage.rootDirectory` and the port are filled in). */
export async function startTestApp(
  raw: Record<string, unknown> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const root = options.root ?? (await mkdtemp(path.join(tmpdir(), 'berth-ops-')));
  const storage = { rootDirectory: root, ...(raw.storage as Record<string, unknown> | undefined) };
  const http = { address: '127.0.0.1', port: 0, ...(raw.http as Record<string, unknown> | undefined) };
  const { config } = parseConfig({ ...raw, storage, http }, { baseDir: root });
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
      callback();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const app = await buildApp(config, log, {
    ...(options.extensions ? { extensions: options.extensions } : {}),
    ...(options.access ? { access: options.access } : {}),
    ...(options.sqlitePragmas ? { sqlitePragmas: options.sqlitePragmas } : {}),
  });
  const address = await app.listen();
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    root,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    close: async () => {
      await app.close(1_000);
      if (options.root === undefined) await rm(root, { recursive: true, force: true });
    },
  };
}
