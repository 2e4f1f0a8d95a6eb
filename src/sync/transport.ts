/**
 * HTTP to one upstream registry, with the timeouts a pull-through cache needs so that a dead or
 * stuck upstream never hangs a client: a connect timeout, and a stall timeout (no byte in either
 * direction for that long, whether waiting for the response head or in the middle of a body).
 * There is deliberately no whole-request deadline here: a large layer on a slow link may take
 * long, and is fine as long as bytes keep arriving.
 *
 * Redirects are followed (Docker Hub and others send blobs to a CDN), dropping `Authorization`
 * when the redirect leaves the origin, so upstream credentials never reach a third party.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';

export interface TransportOptions {
  /** Verify the upstream's TLS certificate (zot's `tlsVerify`, default true). */
  tlsVerify: boolean;
  /** Extra CA certificates (PEM), trusted on top of Node's roots (`certDir/*.crt`). */
  ca?: string[];
  /** Client certificate and key (PEM) for mutual TLS (`certDir/*.cert`, `certDir/*.key`). */
  cert?: string;
  key?: string;
  connectTimeoutMs: number;
  stallTimeoutMs: number;
  /** Parallel connections per upstream host (zot's `reqConcurrent`); unlimited when absent. */
  maxSockets?: number;
  /** Idle keep-alive connections kept per host (zot's `maxIdleConnsPerHost`). */
  maxFreeSockets?: number;
  /** Name resolution, for tests that serve a public host name from loopback. */
  lookup?: LookupFunction;
}

export type TransportErrorKind = 'connect-timeout' | 'stall' | 'network';

/** The upstream could not be reached, or stopped answering. */
export class TransportError extends Error {
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

export interface TransportRequest {
  method: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Redirects to follow (default 5). */
  maxRedirects?: number;
}

export interface TransportResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body; must be consumed or destroyed. Errors with a TransportError on a stall. */
  body: IncomingMessage;
  /** The URL that answered, after redirects. */
  url: URL;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class Transport {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly options: TransportOptions) {
    const pool = {
      keepAlive: true,
      ...(options.maxSockets === undefined ? {} : { maxSockets: options.maxSockets }),
      ...(options.maxFreeSockets === undefined ? {} : { maxFreeSockets: options.maxFreeSockets }),
    };
    this.httpAgent = new http.Agent(pool);
    this.httpsAgent = new https.Agent({
      ...pool,
      rejectUnauthorized: options.tlsVerify,
      ...(options.ca?.length ? { ca: [...rootCertificates, ...options.ca] } : {}),
      ...(options.cert === undefined ? {} : { cert: options.cert }),
      ...(options.key === undefined ? {} : { key: options.key }),
    });
  }

  async request(url: URL, init: TransportRequest): Promise<TransportResponse> {
    let current = url;
    let method = init.method;
    const headers = { ...init.headers };
    for (let redirects = init.maxRedirects ?? 5; ; redirects--) {
      const res = await this.onceRetryingStale(current, method, headers);
      const location = res.headers.location;
      if (!REDIRECTS.has(res.status) || location === undefined || redirects <= 0) return res;
      res.body.resume();
      const next = new URL(location, current);
      if (next.origin !== current.origin) {
        delete headers.authorization;
        delete headers.Authorization;
      }
      if (res.status === 303) method = 'GET';
      current = next;
    }
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /**
   * A kept-alive connection the upstream closed while it sat idle fails on first use; that is not
   * the upstream being down, so the request goes once more on a new connection.
   */
  private async onceRetryingStale(
    url: URL,
    method: string,
    headers: Record<string, string>,
  ): Promise<TransportResponse> {
    try {
      return await this.once(url, method, headers);
    } catch (err) {
      if (!(err instanceof StaleConnectionError)) throw err;
      return this.once(url, method, headers);
    }
  }

  private once(url: URL, method: string, headers: Record<string, string>): Promise<TransportResponse> {
    const secure = url.protocol === 'https:';
    const send = secure ? https.request : http.request;
    const { connectTimeoutMs, stallTimeoutMs, lookup } = this.options;
    return new Promise<TransportResponse>((resolve, reject) => {
      let response: IncomingMessage | undefined;
      const req = send(url, {
        method,
        headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
        ...(lookup ? { lookup } : {}),
      });
      const fail = (err: TransportError): void => {
        if (response) response.destroy(err);
        else req.destroy(err);
      };
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(
          () =>
            fail(
              new TransportError(
                'connect-timeout',
                `no connection to ${url.host} after ${connectTimeoutMs} ms`,
              ),
            ),
          connectTimeoutMs,
        );
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      // Socket inactivity, from the request until the end of the body.
      req.setTimeout(stallTimeoutMs, () =>
        fail(new TransportError('stall', `${url.host} sent nothing for ${stallTimeoutMs} ms`)),
      );
      req.once('error', (err) => {
        const code = (err as NodeJS.ErrnoException).code;
        const stale = !response && req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE');
        reject(stale ? new StaleConnectionError(asTransportError(err, url)) : asTransportError(err, url));
      });
      req.once('response', (res) => {
        response = res;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
      });
      req.end();
    });
  }
}

/** A reused keep-alive connection turned out to be closed. */
class StaleConnectionError extends TransportError {
  constructor(cause: TransportError) {
    super('network', cause.message, { cause });
  }
}

function asTransportError(err: unknown, url: URL): TransportError {
  if (err instanceof TransportError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const text = err instanceof Error ? err.message : String(err);
  return new TransportError('network', `cannot reach ${url.host}: ${code ?? text}`, { cause: err });
}

/** A body stream's error as a TransportError when it is a network failure. */
export function bodyError(err: unknown, url: URL): Error {
  if (err instanceof TransportError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (
    code === 'ECONNRESET' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    code === 'EPIPE' ||
    code === 'ETIMEDOUT'
  ) {
    return new TransportError('network', `connection to ${url.host} broke: ${code}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}
