/**
 * zot's search extension (`extensions.search`): the GraphQL API at `/v2/_zot/ext/search`, stars and
 * bookmarks (`/v2/_zot/ext/userprefs`) and `/v2/_oci/ext/discover`. Registered only when enabled.
 *
 * It reads through the registry services and the UI's repository summaries and content reader
 * (shared with the UI extension when both are on), and keeps three records of its own in the
 * metadata store, SQLite or PostgreSQL (`src/meta/user-prefs.ts`, `download-counts.ts`,
 * `image-facts.ts`): nothing another replica may change is kept in memory (facts, the one cache,
 * are per digest and never change). Vulnerability
 * answers come from a `VulnerabilityService` when one is given; without one the CVE queries answer
 * "cve search is disabled", as zot's do with its scanner off.
 */
import type { AppContext, ExtensionFactory } from '../extensions.js';
import type { Pull } from '../meta/download-counts.js';
import { ContentReader } from '../ui/content.js';
import { FULL_CHECK_MS } from '../meta/ui-summaries.js';
import { VisibleRepositories } from '../ui/visibility.js';
import type { VulnerabilityService } from './cve/types.js';
import { FactsReader } from './facts.js';
import { asyncReads } from './reads.js';
import { searchRoutes } from './routes.js';
import type { SearchDeps } from './scope.js';

/** Pulls are counted in memory this long before they are added to the database in one transaction. */
const DOWNLOAD_FLUSH_MS = 1_000;

/** A vulnerability service with the background work it may need. */
export type VulnerabilityProvider = (
  ctx: AppContext,
) =>
  | (VulnerabilityService & { start?(): void | Promise<void>; stop?(): void | Promise<void> })
  | undefined
  | Promise<
      (VulnerabilityService & { start?(): void | Promise<void>; stop?(): void | Promise<void> }) | undefined
    >;

export interface SearchExtensionOptions {
  vulnerabilities?: VulnerabilityProvider;
}

export function searchExtension(options: SearchExtensionOptions = {}): ExtensionFactory {
  return async (ctx) => {
    if (!ctx.config.extensions?.search?.enable) return undefined;
    const { registry, meta, log } = ctx;
    const { userPrefs, downloadCounts, imageFacts } = meta;
    const queries = meta.uiSummaries;
    const content = new ContentReader(registry, queries);
    const scanner = await options.vulnerabilities?.(ctx);
    // Async reads over today's synchronous index and summaries (the metadata store's ports later).
    const { index, summaries } = asyncReads(registry.index, queries);
    const deps: SearchDeps = {
      index,
      summaries,
      access: ctx.access,
      content,
      facts: new FactsReader(imageFacts, index, content),
      prefs: userPrefs,
      downloads: downloadCounts,
      visibility: new VisibleRepositories(ctx.access),
      vulnerabilities: scanner,
    };

    let pulls = new Map<string, Pull>();
    const onPulled = ({ repo, digest }: { repo: string; digest: string }): void => {
      const key = `${repo}@${digest}`;
      const pull = pulls.get(key);
      if (pull) {
        pull.count++;
        pull.lastPullAt = Date.now();
      } else pulls.set(key, { repo, digest, count: 1, lastPullAt: Date.now() });
    };
    const flush = async (): Promise<void> => {
      if (pulls.size === 0) return;
      const batch = [...pulls.values()];
      pulls = new Map();
      try {
        await deps.downloads.record(batch);
      } catch (err) {
        log.warn({ err, pulls: batch.length }, 'search: download counts not recorded');
      }
    };
    const onChanged = ({ repo }: { repo: string }): void => queries.invalidate(repo);
    const fullCheck = (): void => {
      queries
        .refreshSummaries()
        .catch((err: unknown) => log.warn({ err }, 'search: repository summaries not refreshed'));
    };
    let flushTimer: NodeJS.Timeout | undefined;
    let checkTimer: NodeJS.Timeout | undefined;
    const { events } = registry;

    return {
      name: 'search',
      routes: [searchRoutes({ deps, log, mgmt: true })],
      start: async () => {
        events.on('manifest-pulled', onPulled);
        events.on('manifest-pushed', onChanged);
        events.on('manifest-deleted', onChanged);
        events.on('blob-stored', onChanged);
        events.on('blob-deleted', onChanged);
        flushTimer = setInterval(() => void flush(), DOWNLOAD_FLUSH_MS);
        flushTimer.unref();
        // Without the UI extension nobody else keeps the summaries fresh off the request path.
        setImmediate(fullCheck);
        checkTimer = setInterval(fullCheck, FULL_CHECK_MS);
        checkTimer.unref();
        await scanner?.start?.();
      },
      stop: async () => {
        clearInterval(flushTimer);
        clearInterval(checkTimer);
        events.off('manifest-pulled', onPulled);
        events.off('manifest-pushed', onChanged);
        events.off('manifest-deleted', onChanged);
        events.off('blob-stored', onChanged);
        events.off('blob-deleted', onChanged);
        await flush();
        await scanner?.stop?.();
      },
    };
  };
}
