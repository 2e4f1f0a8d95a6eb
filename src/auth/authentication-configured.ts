import type { Config } from '../config/index.js';

/**
 * zot's test for "some authentication is configured": it decides the policy's mode (open, or
 * authenticated callers only) and whether binding beyond loopback deserves a warning.
 */
export function authenticationConfigured(config: Config): boolean {
  const auth = config.http.auth;
  if (config.http.tls?.cacert !== undefined) return true;
  return Boolean(
    auth &&
    (auth.htpasswd !== undefined ||
      auth.ldap !== undefined ||
      auth.openid !== undefined ||
      auth.apikey ||
      auth.bearer !== undefined),
  );
}
