/**
 * `GET /v2/_zot/ext/mgmt`: the stripped, secret-free configuration zot's web UI reads to decide
 * which ways to sign in it offers. Anybody without bad credentials may read it.
 */
import type { Config } from '../../config/index.js';
import { DIST_SPEC_VERSION } from '../../config/index.js';
import { RegistryError } from '../../oci/errors.js';
import { sendJson } from '../respond.js';
import type { PlainRoute } from '../server.js';

export const MGMT_PATH = '/v2/_zot/ext/mgmt';

/** zot's shape: `htpasswd: {}` (path hidden) for password sign-in, each OpenID provider's name only. */
export function mgmtDocument(config: Config, version: string): Record<string, unknown> {
  const auth = config.http.auth;
  const shown: Record<string, unknown> = {};
  if (auth !== undefined) {
    if (auth.htpasswd !== undefined || auth.ldap !== undefined) shown.htpasswd = {};
    const providers = auth.openid?.providers;
    if (providers !== undefined && Object.keys(providers).length > 0) {
      shown.openid = {
        providers: Object.fromEntries(
          Object.entries(providers).map(([key, p]) => [key, p.name === undefined ? {} : { name: p.name }]),
        ),
      };
    }
    if (auth.apikey) shown.apikey = true;
  }
  return {
    distSpecVersion: DIST_SPEC_VERSION,
    commit: '',
    releaseTag: `v${version}`,
    binaryType: '-berth',
    http: { auth: shown },
  };
}

export function mgmtRoute(config: Config, version: string): PlainRoute {
  const body = mgmtDocument(config, version);
  return (ctx) => {
    if (ctx.url.pathname !== MGMT_PATH) return false;
    ctx.route = 'mgmt';
    if (ctx.req.method !== 'GET' && ctx.req.method !== 'HEAD')
      throw new RegistryError('UNSUPPORTED', 'use GET');
    sendJson(ctx, 200, body);
    return true;
  };
}
