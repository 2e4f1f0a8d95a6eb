/**
 * Extensions (metrics, sync, gc, ui, auth routes...) plug into the app through this one shape.
 * An extension that its configuration disables is simply not registered: its factory returns
 * undefined and none of its routes or jobs exist.
 */
import type { Logger } from 'pino';
import type { Config } from './config/index.js';
import type { MetadataStore } from './meta/store.js';
import type { Coordination } from './coordination/coordination.js';
import type { JobRunner } from './coordination/jobs.js';
import type { Registry } from './registry/registry.js';
import type { AccessGuard } from './http/access.js';
import type { PlainRoute, RequestRecord } from './http/server.js';
import type { PullThrough } from './http/v2/deps.js';

export interface AppContext {
  readonly config: Config;
  readonly log: Logger;
  /** Every shared record, as ports (never a database handle). */
  readonly meta: MetadataStore;
  /** Locks, leases, leader election and single flight across processes. */
  readonly coordination: Coordination;
  /** Where background work is registered: it survives its own failures, elected jobs run in one process. */
  readonly jobs: JobRunner;
  /** The data directory's `_berth/` folder (key files that must stay out of the database). */
  readonly metaDir: string;
  readonly registry: Registry;
  readonly access: AccessGuard;
}

export interface Extension {
  readonly name: string;
  /** Routes outside /v2, tried in registration order. */
  readonly routes?: PlainRoute[];
  /** At most one extension may provide pull-through reads. */
  readonly pullThrough?: PullThrough;
  onRequestEnd?(record: RequestRecord): void;
  /** Starts background work (after the server listens). */
  start?(): void | Promise<void>;
  /** Stops background work (before the database closes). */
  stop?(): void | Promise<void>;
}

export type ExtensionFactory = (ctx: AppContext) => Extension | undefined | Promise<Extension | undefined>;
