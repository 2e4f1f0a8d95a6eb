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
import { FULL_CHECK_MS } from '../meta/ui-summaries.js';
import { scanningConfigured, scanStore } from '../search/cve/index.js';
import { UiVulnerabilities } from './vulnerabilities.js';

export const uiExtension: ExtensionFactory = (ctx) => {
  if (!ctx.config.extensions?.ui?.enable) return undefined;
  const assets = new StaticAssets();
  const queries = ctx.meta.uiSummaries;
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

  /**
   * Compares every summary with its repository (recomputing what changed without an event), off
   * the request path: at start-up (after a mass import this is the one slow pass, a few table
   * scans) and then every FULL_CHECK_MS.
   */
  const fullCheck = async (): Promise<void> => {
    if (stopped) return;
    const started = performance.now();
    await queries.refreshSummaries();
    const ms = performance.now() - started;
    if (ms > 1000) ctx.log.info({ ms: Math.round(ms) }, 'ui: repository summaries computed');
  };

  return {
    name: 'ui',
    routes: [
      pageRoutes(assets),
      apiRoutes({
        config: ctx.config,
        access: ctx.access,
        registry: ctx.registry,
        queries,
        content,
        ...(scanningConfigured(ctx)
          ? { vulnerabilities: new UiVulnerabilities(scanStore(ctx), ctx.registry) }
          : {}),
      }),
    ],
    start: () => {
      events.on('manifest-pushed', onPushed);
      events.on('manifest-deleted', onChanged);
      events.on('blob-stored', onChanged);
      events.on('blob-deleted', onChanged);
      // Every process keeps its own in-memory orders fresh; the summaries themselves are shared.
      ctx.jobs.add({
        name: 'ui-summaries',
        intervalMs: FULL_CHECK_MS,
        firstDelayMs: 0,
        elected: false,
        run: fullCheck,
      });
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
