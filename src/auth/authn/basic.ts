/**
 * Reads the `Authorization` request header the way zot's authentication chain does: Basic
 * credentials, a registry bearer token, "no credentials", or a failure that must be answered with
 * 401 (never with anonymous access: a caller who tried to authenticate and failed is not treated as
 * anonymous).
 */

export type InvalidAuthorizationReason =
  /** More than one `Authorization` header: refused outright, as zot does, so no layer can pick a different one. */
  | 'multiple-headers'
  /** A scheme other than Basic and Bearer. `scheme` holds it, lower-cased. */
  | 'unsupported-scheme'
  /** Not base64, not UTF-8, no `:` separator, or an empty user name with a password. */
  | 'malformed';

export type AuthorizationHeader =
  /** No header, an empty one, or `Basic Og==` (base64 of `:`), which some clients send for "none". */
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  /** `Bearer <token>`: the token is opaque here (a registry token, verified elsewhere). */
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'invalid'; readonly reason: InvalidAuthorizationReason; readonly scheme?: string };

const NONE: AuthorizationHeader = Object.freeze({ kind: 'none' });
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** RFC 6750's token68 syntax, bounded: registry tokens are JWTs of a few hundred bytes. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]{1,8192}=*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function invalid(reason: InvalidAuthorizationReason, scheme?: string): AuthorizationHeader {
  return scheme === undefined ? { kind: 'invalid', reason } : { kind: 'invalid', reason, scheme };
}

/**
 * Parses the header's value(s). Pass every received value (`req.headersDistinct.authorization` in
 * Node: `req.headers.authorization` silently keeps only the first of duplicates), or a single string.
 *
 * The scheme name is case-insensitive; the credentials must be standard base64 (padding optional)
 * of UTF-8 text. Strict UTF-8 decoding keeps two different byte sequences from decoding to the same
 * password through replacement characters. The user name ends at the first `:`; the password may
 * contain more.
 */
export function parseAuthorization(header: string | readonly string[] | undefined): AuthorizationHeader {
  const values = header === undefined ? [] : typeof header === 'string' ? [header] : header;
  if (values.length > 1) return invalid('multiple-headers');
  const value = (values[0] ?? '').trim();
  // zot's own test for "no credentials" compares the whole header case-insensitively.
  if (value === '' || value.toLowerCase() === 'basic og==') return NONE;

  const space = value.search(/[ \t]/);
  const scheme = (space === -1 ? value : value.slice(0, space)).toLowerCase();
  const token = space === -1 ? '' : value.slice(space).trim();
  if (scheme === 'bearer') return BEARER_TOKEN.test(token) ? { kind: 'bearer', token } : invalid('malformed');
  if (scheme !== 'basic') return invalid('unsupported-scheme', scheme);
  if (!BASE64.test(token) || token.length % 4 === 1) return invalid('malformed');

  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(token, 'base64'));
  } catch {
    return invalid('malformed');
  }
  if (decoded === ':') return NONE;
  const colon = decoded.indexOf(':');
  if (colon === -1) return invalid('malformed');
  const username = decoded.slice(0, colon);
  // The empty user name is the anonymous caller's; nobody may authenticate as it.
  if (username === '') return invalid('malformed');
  return { kind: 'basic', username, password: decoded.slice(colon + 1) };
}
