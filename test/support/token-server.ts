/**
 * A reverse proxy in front of a real registry (Berth or CNCF Distribution), for the pull-through
 * tests. It records every request that reaches the upstream, so a test can assert what the cache
 * asked for, and it can put the Docker token flow in front of the registry the way Docker Hub,
 * GHCR and Quay do:
 *
 *   GET /v2/<name>/...            → 401 `WWW-Authenticate: Bearer realm=".../token",service=..,scope=..`
 *   GET /token?service=&scope=    → {"token", "access_token", "expires_in", "issued_at"}
 *                                   (Basic credentials required when `users` is given)
 *   GET /v2/<name>/... + Bearer   → forwarded when the token's scope covers `<name>`
 *
 * It can also misbehave on demand: answer 429, fail the next requests with a status, or stall.
 * Listens on 127.0.0.1 only; `stop()` closes it and every connection.
 */
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';

export interface TokenAuthOptions {
  /** The `service` in the challenge (default `berth-test-registry`). */
  service?: string;
  /** username → password required at the token endpoint; anonymous tokens when absent. */
  users?: Record<string, string>;
  /** `expires_in` of issued tokens (default 300). */
  tokenTtlSeconds?: number;
}

export interface ProxyOptions {
  /** The registry to forward to, `http://127.0.0.1:PORT`. */
  target: string;
  /** Require the Docker token flow; without it requests (with their headers) pass straight through. */
  tokenAuth?: TokenAuthOptions;
  /** Listen on this port (default: any free one). */
  port?: number;
}

export interface RecordedRequest {
  method: string;
  /** Path and query as received. */
  path: string;
  /** The upstream's status, or the proxy's own when it answered itself. */
  status: number;
}

export interface TokenRequest {
  service: string | null;
  scope: string | null;
  user: string | undefined;
}

export type ProxyMode = 'forward' | 'rate-limit' | 'stall';

export interface Gate {
  /** Resolves once a matching response has sent its first bytes and is being held. */
  readonly reached: Promise<void>;
  open(): void;
}

/** Passes `limit` bytes, then holds the rest until `opened` resolves. */
class HoldAfter extends Transform {
  private passed = 0;

  constructor(
    private readonly limit: number,
    private readonly onReached: () => void,
    private readonly opened: Promise<void>,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const room = this.limit - this.passed;
    if (room <= 0) {
      void this.opened.then(() => callback(null, chunk));
      return;
    }
    const head = chunk.subarray(0, room);
    this.passed += head.length;
    this.push(head);
    if (this.passed < this.limit) {
      callback();
      return;
    }
    this.onReached();
    const rest = chunk.subarray(room);
    void this.opened.then(() => callback(null, rest.length > 0 ? rest : undefined));
  }
}

export interface UpstreamProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  /** Requests under /v2 that were forwarded to the upstream (or refused by a mode), in order. */
  readonly requests: RecordedRequest[];
  /** Requests to the token endpoint. */
  readonly tokenRequests: TokenRequest[];
  /** Forwarded requests with this method whose path matches. */
  count(method: string, path: RegExp): number;
  /** Forgets recorded requests. */
  reset(): void;
  setMode(mode: ProxyMode): void;
  /** Answers the next `count` /v2 requests with `status` instead of forwarding them. */
  failNext(count: number, status: number): void;
  /**
   * Holds upstream responses whose path matches after their first `bytes` body bytes, until the
   * returned gate is opened: a test can then see what a client receives while the upstream is
   * still sending.
   */
  gate(path: RegExp, bytes: number): Gate;
  stop(): Promise<void>;
}

interface Grant {
  scopes: Set<string>;
  expiresAt: number;
}

/** The scope a /v2 path needs: `repository:<name>:pull`, the catalog's, or none for `/v2/`. */
function scopeFor(path: string): string | undefined {
  if (path === '/v2/' || path === '/v2') return undefined;
  if (path.startsWith('/v2/_catalog')) return 'registry:catalog:*';
  const match = /^\/v2\/(.+?)\/(manifests|blobs|tags|referrers)\//.exec(path);
  return match ? `repository:${match[1]}:pull` : undefined;
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ errors: [{ code, message }] });
}

export async function startUpstreamProxy(options: ProxyOptions): Promise<UpstreamProxy> {
  const target = new URL(options.target);
  const requests: RecordedRequest[] = [];
  const tokenRequests: TokenRequest[] = [];
  const grants = new Map<string, Grant>();
  const sockets = new Set<Socket>();
  const stalled: ServerResponse[] = [];
  let mode: ProxyMode = 'forward';
  let failures: { left: number; status: number } = { left: 0, status: 0 };
  const gates: { path: RegExp; bytes: number; reached: () => void; opened: Promise<void> }[] = [];
  let self = '';

  const auth = options.tokenAuth;
  const service = auth?.service ?? 'berth-test-registry';

  const issueToken = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    let user: string | undefined;
    const header = req.headers.authorization ?? '';
    if (header.startsWith('Basic ')) {
      const [name, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
      user = name;
      if (auth?.users && auth.users[name ?? ''] !== rest.join(':')) user = undefined;
    }
    tokenRequests.push({
      service: url.searchParams.get('service'),
      scope: url.searchParams.get('scope'),
      user,
    });
    if (auth?.users && user === undefined) {
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Basic realm="${self}/token"`,
      });
      res.end(errorBody('UNAUTHORIZED', 'bad credentials'));
      return;
    }
    const ttl = auth?.tokenTtlSeconds ?? 300;
    const token = randomBytes(24).toString('base64url');
    const scopes = new Set(
      url.searchParams
        .getAll('scope')
        .flatMap((s) => s.split(' '))
        .filter((s) => s !== ''),
    );
    grants.set(token, { scopes, expiresAt: Date.now() + ttl * 1000 });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ token, access_token: token, expires_in: ttl, issued_at: new Date().toISOString() }),
    );
  };

  /** Whether the request carries a token that covers `scope`; answers the 401 itself when not. */
  const authorized = (req: IncomingMessage, res: ServerResponse, path: string): boolean => {
    const scope = scopeFor(path);
    const header = req.headers.authorization ?? '';
    const grant = header.startsWith('Bearer ') ? grants.get(header.slice(7)) : undefined;
    const valid =
      grant !== undefined && grant.expiresAt > Date.now() && (scope === undefined || grant.scopes.has(scope));
    if (valid) return true;
    const challenge = `Bearer realm="${self}/token",service="${service}"${scope ? `,scope="${scope}"` : ''}`;
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': challenge });
    res.end(errorBody('UNAUTHORIZED', 'authentication required'));
    return false;
  };

  const forward = (req: IncomingMessage, res: ServerResponse, record: RecordedRequest): void => {
    const headers = { ...req.headers, host: target.host };
    // The token is ours, not the upstream's.
    if (auth) delete headers.authorization;
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (answer) => {
        record.status = answer.statusCode ?? 0;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        const gate = gates.find((g) => g.path.test(req.url ?? ''));
        if (gate && req.method === 'GET')
          answer.pipe(new HoldAfter(gate.bytes, gate.reached, gate.opened)).pipe(res);
        else answer.pipe(res);
      },
    );
    upstream.once('error', (err) => {
      record.status = 502;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(errorBody('UNKNOWN', `proxy: ${err.message}`));
    });
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    if (url.pathname === '/token') {
      issueToken(req, res, url);
      return;
    }
    if (auth && !authorized(req, res, url.pathname)) return;
    const record: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', status: 0 };
    if (url.pathname !== '/v2/' && url.pathname !== '/v2') requests.push(record);
    if (failures.left > 0) {
      failures.left--;
      record.status = failures.status;
      res.writeHead(failures.status, { 'content-type': 'application/json' });
      res.end(errorBody('UNKNOWN', 'proxy: failing on purpose'));
      return;
    }
    if (mode === 'rate-limit') {
      record.status = 429;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '60' });
      res.end(errorBody('TOOMANYREQUESTS', 'proxy: rate limited on purpose'));
      return;
    }
    if (mode === 'stall') {
      stalled.push(res);
      return;
    }
    forward(req, res, record);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  self = `http://127.0.0.1:${port}`;

  return {
    url: self,
    host: `127.0.0.1:${port}`,
    port,
    requests,
    tokenRequests,
    count: (method, path) => requests.filter((r) => r.method === method && path.test(r.path)).length,
    reset: () => {
      requests.length = 0;
      tokenRequests.length = 0;
    },
    setMode: (next) => {
      mode = next;
    },
    failNext: (count, status) => {
      failures = { left: count, status };
    },
    gate: (path, bytes) => {
      let open!: () => void;
      let reached!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
      gates.push({ path, bytes, reached, opened });
      return { reached: reachedPromise, open };
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const res of stalled) res.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
