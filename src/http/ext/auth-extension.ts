/**
 * The auth routes as an extension: the token endpoint, sign-in and sign-out, API keys (when the
 * access guard is Berth's, i.e. authentication or access control is configured), and zot's
 * `/v2/_zot/ext/mgmt` for the web UI (when the UI or search is enabled, as zot registers it).
 * Starting it starts OIDC discovery in the background and the purge of expired sessions.
 */
import { readFileSync } from 'node:fs';
import type { Extension, ExtensionFactory } from '../../extensions.js';
import { BerthAccessGuard } from '../access.js';
import type { PlainRoute } from '../server.js';
import { KeyExpiryWarnings, registerKeyExpiryMetric } from '../../auth/key-expiry.js';
import type { KeySummary } from '../../meta/api-key-groups.js';
import { metricsFor } from '../../metrics/berth-metrics.js';
import { adminKeyRoutes } from './admin-key-routes.js';
import { apiKeyRoutes } from './api-key-routes.js';
import { mgmtRoute } from './mgmt-route.js';
import { oidcRoutes } from './oidc-routes.js';
import { tokenRoute } from './token-route.js';

const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export const authExtension: ExtensionFactory = (ctx) => {
  const guard = ctx.access instanceof BerthAccessGuard ? ctx.access : undefined;
  const extensions = ctx.config.extensions;
  const routes: PlainRoute[] = [];
  if (extensions?.search?.enable === true || extensions?.ui?.enable === true)
    routes.push(mgmtRoute(ctx.config, pkg.version));
  if (guard !== undefined)
    routes.push(tokenRoute(guard), oidcRoutes(guard), apiKeyRoutes(guard), adminKeyRoutes(guard));
  if (routes.length === 0) return undefined;
  let warnings: KeyExpiryWarnings | undefined;
  if (guard !== undefined) {
    const { services } = guard;
    const list = async (): Promise<KeySummary[] | undefined> =>
      services.apiKeys === undefined ? undefined : services.keyGroups.list();
    registerKeyExpiryMetric(metricsFor(ctx.registry).registry, list);
    warnings = new KeyExpiryWarnings(list, services.log, () => services.now());
  }
  const extension: Extension = {
    name: 'auth',
    routes,
    start: () => {
      guard?.start();
      warnings?.start();
    },
    stop: () => {
      warnings?.stop();
      guard?.stop();
    },
  };
  return extension;
};
