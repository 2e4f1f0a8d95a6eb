/**
 * Authenticating to an upstream registry the ways Docker Hub, GHCR, Quay and private registries
 * ask for it: anonymously, with Basic credentials, or through the Docker token flow
 * (`WWW-Authenticate: Bearer realm=…,service=…,scope=…` → `GET realm?service=…&scope=…` → a
 * bearer token). Tokens are cached per scope until shortly before they expire, and once an origin
 * has shown its challenge, later requests fetch their token first instead of taking a 401 each.
 */
import type { Logger } from 'pino';
import { SingleFlight } from './single-flight.js';
import type { Transport } from './transport.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header (RFC 7235): one or more challenges, each a scheme and
 * comma-separated `key=value` or `key="quoted value"` parameters.
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const text = Array.isArray(header) ? header.join(', ') : (header ?? '');
  const challenges: Challenge[] = [];
  const token = /\s*([A-Za-z][A-Za-z0-9._~+/-]*)\s*/y;
  const param = /\s*([A-Za-z0-9._~+-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*,?/y;
  let at = 0;
  while (at < text.length) {
    token.lastIndex = at;
    const scheme = token.exec(text);
    if (!scheme) {
      at++;
      continue;
    }
    at = token.lastIndex;
    const params: Record<string, string> = {};
    for (;;) {
      param.lastIndex = at;
      const match = param.exec(text);
      if (!match) break;
      // A token followed by "=" could be the next challenge's scheme only if no "=" follows it.
      params[(match[1] as string).toLowerCase()] =
        match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] ?? '');
      at = param.lastIndex;
    }
    challenges.push({ scheme: (scheme[1] as string).toLowerCase(), params });
    while (at < text.length && (text[at] === ',' || text[at] === ' ')) at++;
  }
  return challenges;
}

/** How an origin wants to be authenticated, learnt from its first challenge. */
type OriginScheme = { kind: 'basic' } | { kind: 'bearer'; realm: string; service: string | undefined };

interface CachedToken {
  value: string;
  expiresAt: number;
}

/** Docker's token spec: without `expires_in`, a token lives 60 s. */
const DEFAULT_TOKEN_SECONDS = 60;

export class TokenRequestError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'TokenRequestError';
  }
}

export interface UpstreamAuthOptions {
  transport: Transport;
  credentials: Credentials | undefined;
  log: Logger;
  now?: () => number;
}

/** The `Authorization` headers for one upstream (all its origins). */
export class UpstreamAuth {
  private readonly schemes = new Map<string, OriginScheme>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly fetching = new SingleFlight<string>();
  private readonly now: () => number;

  constructor(private readonly options: UpstreamAuthOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The header to send up front to `origin` for `scope`, when the origin's scheme is known. */
  async headerFor(origin: string, scope: string): Promise<string | undefined> {
    const scheme = this.schemes.get(origin);
    if (!scheme) return undefined;
    if (scheme.kind === 'basic') return this.basic();
    return `Bearer ${await this.token(scheme.realm, scheme.service, scope)}`;
  }

  /**
   * Answers a 401: learns the origin's scheme from the challenge and returns the header to retry
   * with, or undefined when there is nothing better to send (no credentials for Basic).
   */
  async answer(
    origin: string,
    scope: string,
    header: string | string[] | undefined,
  ): Promise<string | undefined> {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      const realm = bearer.params.realm as string;
      const service = bearer.params.service;
      this.schemes.set(origin, { kind: 'bearer', realm, service });
      // The challenge names the scope this request needs; ours is the same for the requests we make,
      // but the server's word wins (e.g. a catalog scope).
      const needed = bearer.params.scope ?? scope;
      this.forget(realm, service, needed);
      return `Bearer ${await this.token(realm, service, needed)}`;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      this.schemes.set(origin, { kind: 'basic' });
      return this.basic();
    }
    return undefined;
  }

  private basic(): string | undefined {
    const creds = this.options.credentials;
    if (!creds) return undefined;
    return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  }

  private key(realm: string, service: string | undefined, scope: string): string {
    return `${realm}\n${service ?? ''}\n${scope}`;
  }

  private forget(realm: string, service: string | undefined, scope: string): void {
    this.tokens.delete(this.key(realm, service, scope));
  }

  private async token(realm: string, service: string | undefined, scope: string): Promise<string> {
    const key = this.key(realm, service, scope);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.value;
    return this.fetching.run(key, async () => {
      const token = await this.requestToken(realm, service, scope);
      this.tokens.set(key, token);
      return token.value;
    });
  }

  private async requestToken(
    realm: string,
    service: string | undefined,
    scope: string,
  ): Promise<CachedToken> {
    const url = new URL(realm);
    if (service) url.searchParams.set('service', service);
    if (scope) url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    const basic = this.basic();
    if (basic) headers.authorization = basic;
    const started = this.now();
    const res = await this.options.transport.request(url, { method: 'GET', headers });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > 1024 * 1024) {
        res.body.destroy();
        throw new TokenRequestError(`token endpoint ${url.host} sent more than 1 MiB`, res.status);
      }
      chunks.push(chunk as Buffer);
    }
    this.options.log.info(
      {
        upstream: url.host,
        method: 'GET',
        path: url.pathname,
        scope,
        status: res.status,
        ms: this.now() - started,
      },
      'upstream token request',
    );
    if (res.status !== 200) {
      throw new TokenRequestError(
        `token endpoint ${url.host} answered ${res.status} for scope ${scope}`,
        res.status,
      );
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      throw new TokenRequestError(`token endpoint ${url.host} sent invalid JSON`, res.status);
    }
    const value = typeof body.token === 'string' && body.token !== '' ? body.token : body.access_token;
    if (typeof value !== 'string' || value === '') {
      throw new TokenRequestError(`token endpoint ${url.host} sent no token`, res.status);
    }
    const seconds =
      typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    // Renew a little early so a token never expires between our check and the upstream's.
    const margin = Math.min(10_000, (seconds * 1000) / 4);
    return { value, expiresAt: started + seconds * 1000 - margin };
  }
}
