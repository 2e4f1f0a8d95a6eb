// The UI's addresses. They are zot's (bookmarks of zot's UI keep working): `/home`, `/explore`,
// `/login`, `/image/<repository>`, `/image/<repository>/tag/<tag>`, `/user/apikey`; plus
// `/image/<repository>/digest/<digest>` for manifests without a tag. Repository names are written
// with `/` encoded (`/image/team%2Fapp`), as zot's UI does; plain slashes are understood too.

export const paths = {
  home: (params) => withQuery('/home', params),
  login: (params) => withQuery('/login', params),
  apiKeys: () => '/user/apikey',
  repository: (name, params) => withQuery(`/image/${encodeURIComponent(name)}`, params),
  tag: (name, tag) => `/image/${encodeURIComponent(name)}/tag/${encodeURIComponent(tag)}`,
  digest: (name, digest) => `/image/${encodeURIComponent(name)}/digest/${encodeURIComponent(digest)}`,
};

function withQuery(path, params) {
  if (!params) return path;
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

function decode(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Which page a location shows: `{ page, params }`, pages being `login`, `repositories`,
 * `repository`, `image`, `apiKeys` and `notFound`.
 */
export function route(location) {
  const path = location.pathname.replace(/\/+$/, '') || '/';
  if (path === '/login') return { page: 'login', params: {} };
  if (path === '/' || path === '/home' || path === '/explore') return { page: 'repositories', params: {} };
  if (path === '/user/apikey' || path === '/user/apikeys') return { page: 'apiKeys', params: {} };
  if (path.startsWith('/image/')) {
    const segments = path.slice('/image/'.length).split('/');
    // The last `tag`/`digest` marker with exactly one segment after it separates name and reference.
    const marker = segments.length >= 3 ? segments[segments.length - 2] : undefined;
    if (marker === 'tag' || marker === 'digest') {
      const name = segments.slice(0, -2).map(decode).join('/');
      const reference = decode(segments[segments.length - 1]);
      if (name && reference) return { page: 'image', params: { name, reference, by: marker } };
    }
    const name = segments.map(decode).join('/');
    if (name) return { page: 'repository', params: { name } };
  }
  return { page: 'notFound', params: {} };
}

/**
 * Control characters and backslashes: browsers drop tab/CR/LF from URLs and read `\` as `/`, so
 * `/\t/evil.example/` would become `//evil.example/`. The same rule as the server's `callback_ui`
 * check (src/auth/oidc/callback-url.ts).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f\\]/;

/** A path inside this UI that is safe to go back to after sign-in (never another site). */
export function safeNext(value) {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || UNSAFE.test(value))
    return '/home';
  if (value.startsWith('/login')) return '/home';
  return value;
}
