/**
 * Where a browser may be sent after signing in (`callback_ui`). Never off-site: a relative path on
 * this site, or an absolute URL whose origin is the external URL's (or an allowed origin). Anything
 * else becomes `/`, so a crafted login link cannot turn Berth into an open redirect.
 */

/** Control characters and backslashes: browsers "repair" them in ways that can leave the site. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f\\]/;

/** The origin (`scheme://host[:port]`, default ports omitted) of an http(s) URL; undefined otherwise. */
export function httpOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
}

/**
 * `raw` when it is safe to redirect to after sign-in, otherwise `/`. Empty or absent stays `''`.
 * `allowedOrigins` are full origins (the external URL's first).
 */
export function safeCallbackUrl(raw: string | null | undefined, allowedOrigins: readonly string[]): string {
  if (raw === null || raw === undefined || raw === '') return '';
  if (UNSAFE.test(raw)) return '/';
  if (raw.startsWith('/')) return raw.startsWith('//') ? '/' : raw;
  const origin = httpOrigin(raw);
  if (origin === undefined) return '/';
  const allowed = allowedOrigins.map((o) => httpOrigin(o)).filter((o): o is string => o !== undefined);
  return allowed.includes(origin) ? new URL(raw).href : '/';
}
