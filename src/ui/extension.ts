/**
 * The web UI (`extensions.ui`): pages, static files and the UI's JSON API. Registered only when the
 * configuration enables it; sign-in, sign-out and API keys are the auth routes' (`/zot/auth/...`),
 * which the UI calls like zot's UI does.
 */
import type { ExtensionFactory } from '../extensions.js';
import { apiRoutes } from './api.js';
import { StaticAssets } from './assets.js';
import { ContentReader } from './content.js';
import { pageRoutes } from './pages.js';
import { UiQueries } from './queries.js';

/** Summaries refreshed per event-loop turn while warming up, so requests are never held long. */
const WARM_UP_BATCH = 200;

export const uiExtension: ExtensionFactory = (ctx) => {
  if (!ctx.config.extensions?.ui?.enable) return undefined;
  const assets = new StaticAssets();
  const queries = new UiQueries(ctx.db);
  const content = new ContentReader(ctx.registry, queries);
  const { events } = ctx.registry;
  let stopped = false;

  const onPushed = ({ repo, digest }: { repo: string; digest: string }): void => {
    queries.invalidate(repo);
    // Derive platforms and sizes while the manifest is still in the read cache.
    content
      .info(repo, digest)
      .catch((err: unknown) => ctx.log.debug({ err, repo, digest }, 'ui: manifest facts not derived'));
  };
  const onChanged = ({ repo }: { repo: string }): void => queries.invalidate(repo);

  /** Computes every stale summary in small batches, so the first repository list is fast too. */
  const warmUp = (): void => {
    if (stopped) return;
    try {
      if (queries.refreshSummaries(WARM_UP_BATCH) > 0) setImmediate(warmUp);
    } catch (err) {
      ctx.log.warn({ err }, 'ui: repository summaries not warmed up');
    }
  };

  return {
    name: 'ui',
    routes: [
      pageRoutes(assets),
      apiRoutes({ config: ctx.config, access: ctx.access, registry: ctx.registry, queries, content }),
    ],
    start: () => {
      events.on('manifest-pushed', onPushed);
      events.on('manifest-deleted', onChanged);
      events.on('blob-stored', onChanged);
      events.on('blob-deleted', onChanged);
      setImmediate(warmUp);
    },
    stop: () => {
      stopped = true;
      events.off('manifest-pushed', onPushed);
      events.off('manifest-deleted', onChanged);
      events.off('blob-stored', onChanged);
      events.off('blob-deleted', onChanged);
    },
  };
};
