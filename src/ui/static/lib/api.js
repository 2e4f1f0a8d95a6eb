// Every call the UI makes to the registry. Each one carries `X-ZOT-API-CLIENT: zot-ui`: the server
// honours the session cookie only together with that header (a cross-site page cannot add it
// without a CORS preflight the registry never grants), and never answers it with a Basic-auth
// challenge, so the browser never pops up its own password dialog.

export const UI_HEADER = { 'X-ZOT-API-CLIENT': 'zot-ui' };
const API = '/_berth/ui/api/';

/** A failed call, with the status and the registry's message in plain words. */
export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

let onUnauthorized = () => {};

/** What to do when a call that relied on the session gets 401 (the session expired). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

async function errorFrom(response) {
  let message = '';
  let code;
  try {
    const body = await response.json();
    const first = Array.isArray(body?.errors) ? body.errors[0] : body;
    message = typeof first?.message === 'string' ? first.message : '';
    code = typeof first?.code === 'string' ? first.code : undefined;
  } catch {
    // not JSON: the status says enough
  }
  return new ApiError(response.status, message || defaultMessage(response.status), code);
}

function defaultMessage(status) {
  switch (status) {
    case 401:
      return 'You need to sign in.';
    case 403:
      return 'You are not allowed to do that.';
    case 404:
      return 'Not found, or you may not see it.';
    case 429:
      return 'Too many attempts. Wait a moment and try again.';
    default:
      return status >= 500
        ? 'The registry had a problem. Try again in a moment.'
        : `The request failed (${status}).`;
  }
}

/**
 * Calls the registry. `options.signal` cancels; `options.anonymous` sends no cookie (and so may
 * not trigger the session-expired handling).
 */
export async function request(method, url, options = {}) {
  const headers = { ...UI_HEADER, ...(options.headers ?? {}) };
  let body;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const response = await fetch(url, {
    method,
    headers,
    body,
    credentials: options.anonymous ? 'omit' : 'same-origin',
    signal: options.signal,
    cache: 'no-store',
  });
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401 && !options.anonymous && !options.noSessionCheck) onUnauthorized(error);
    throw error;
  }
  return response;
}

export async function getJson(url, options) {
  const response = await request('GET', url, options);
  return response.json();
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const ui = {
  session: (options) => getJson(`${API}session`, { ...options, noSessionCheck: true }),
  repositories: (params, options) => getJson(`${API}repositories${query(params)}`, options),
  repository: (params, options) => getJson(`${API}repository${query(params)}`, options),
  image: (params, options) => getJson(`${API}image${query(params)}`, options),
  vulnerabilities: (params, options) => getJson(`${API}vulnerabilities${query(params)}`, options),
};

function repoPath(name) {
  return name.split('/').map(encodeURIComponent).join('/');
}

/** Deletes a tag (the manifest stays, untagged) through the registry's own API. */
export function deleteTag(name, tag) {
  return request('DELETE', `/v2/${repoPath(name)}/manifests/${encodeURIComponent(tag)}`);
}

export const auth = {
  /** Username/password sign-in: `GET /v2/` with Basic credentials makes the server start a session. */
  async passwordSignIn(username, password) {
    const credentials = btoa(String.fromCharCode(...new TextEncoder().encode(`${username}:${password}`)));
    await request('GET', '/v2/', {
      headers: { Authorization: `Basic ${credentials}` },
      noSessionCheck: true,
    });
  },
  async signOut() {
    const response = await fetch('/zot/auth/logout', {
      method: 'POST',
      headers: UI_HEADER,
      credentials: 'same-origin',
      cache: 'no-store',
    });
    let endSessionUrl;
    try {
      const body = await response.json();
      if (typeof body?.endSessionUrl === 'string' && /^https?:\/\//.test(body.endSessionUrl))
        endSessionUrl = body.endSessionUrl;
    } catch {
      // an empty body: local sign-out only
    }
    // The server clears the session cookie; the readable `user` cookie is the UI's to remove.
    document.cookie = 'user=; Max-Age=0; path=/; SameSite=Lax';
    return { endSessionUrl };
  },
  listKeys: () => getJson('/zot/auth/apikey'),
  async createKey(label, expirationDate) {
    const response = await request('POST', '/zot/auth/apikey', {
      json: { label, ...(expirationDate ? { expirationDate } : {}) },
    });
    return response.json();
  },
  revokeKey: (id) => request('DELETE', `/zot/auth/apikey${query({ id })}`),
  /** Admins: every user's keys, and keys created for another user (service accounts). */
  listAllKeys: () => getJson('/berth/admin/apikeys'),
  async createServiceKey(user, groups, label, expires) {
    const response = await request('POST', '/berth/admin/apikeys', {
      json: { user, groups, label, ...(expires ? { expires } : {}) },
    });
    return response.json();
  },
  revokeAnyKey: (id) => request('DELETE', `/berth/admin/apikeys${query({ id })}`),
};
