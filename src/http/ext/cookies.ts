/** Reading the `Cookie` header and writing `Set-Cookie` headers, without a dependency. */
import type { ServerResponse } from 'node:http';
import type { RequestContext } from '../context.js';

export interface CookieOptions {
  /** Seconds; 0 deletes the cookie. Absent: a browser-session cookie. */
  readonly maxAgeSeconds?: number;
  readonly httpOnly: boolean;
  readonly secure: boolean;
  /** Default `/`. */
  readonly path?: string;
}

/** The value of cookie `name`, or undefined. Only the first of duplicates counts. */
export function readCookie(ctx: RequestContext, name: string): string | undefined {
  const header = ctx.req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** One `Set-Cookie` value. Always `SameSite=Lax`: no cookie of Berth's rides on a cross-site POST. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${options.path ?? '/'}`];
  if (options.maxAgeSeconds !== undefined) {
    parts.push(`Max-Age=${options.maxAgeSeconds}`);
    if (options.maxAgeSeconds <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  }
  if (options.httpOnly) parts.push('HttpOnly');
  if (options.secure) parts.push('Secure');
  parts.push('SameSite=Lax');
  return parts.join('; ');
}

/** Adds a `Set-Cookie` header to those already set on the response. */
export function appendSetCookie(res: ServerResponse, cookie: string): void {
  const existing = res.getHeader('Set-Cookie');
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  res.setHeader('Set-Cookie', [...list, cookie]);
}
