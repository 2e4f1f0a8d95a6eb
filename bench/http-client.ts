/**
 * A lean keep-alive HTTP client for the load generator: one `http.Agent` per measured run, bodies
 * written from buffers or generated chunks with backpressure, responses drained and counted.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  /** Bytes of the response body. */
  bytes: number;
  /** The body, when the request asked to keep it. */
  body?: Buffer;
}

export interface RequestOptions {
  headers?: OutgoingHttpHeaders;
  /** A whole body, or chunks of a body of `length` bytes written as the socket accepts them. */
  body?: Buffer | { length: number; chunks: Iterable<Buffer> };
  keepBody?: boolean;
}

/** An HTTP error status where another was expected; carries the server's answer for the report. */
export class UnexpectedStatus extends Error {
  constructor(method: string, path: string, expected: number, reply: Reply) {
    const body = reply.body?.toString('utf8').slice(0, 300) ?? '';
    super(`${method} ${path}: expected ${expected}, got ${reply.status} ${body}`);
  }
}

export class HttpClient {
  readonly base: URL;
  private readonly agent: http.Agent;

  /** `sockets` should be the run's concurrency: each worker keeps one connection alive. */
  constructor(base: string, sockets: number) {
    this.base = new URL(base);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  /** A path-and-query for a `Location` header, which a registry may send relative or absolute. */
  resolve(location: string): string {
    const url = new URL(location, this.base);
    return `${url.pathname}${url.search}`;
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const headers: OutgoingHttpHeaders = { ...options.headers };
      const body = options.body;
      if (body !== undefined) headers['content-length'] = body.length;
      else if (method === 'PUT' || method === 'POST' || method === 'PATCH') headers['content-length'] = 0;
      const req = http.request(
        {
          agent: this.agent,
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          headers,
        },
        (res) => {
          // Error bodies are always kept: they explain a failure in the report.
          const keep = options.keepBody === true || (res.statusCode ?? 0) >= 300;
          let bytes = 0;
          const parts: Buffer[] = [];
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (keep) parts.push(chunk);
          });
          res.on('end', () => {
            const reply: Reply = { status: res.statusCode ?? 0, headers: res.headers, bytes };
            if (keep) reply.body = Buffer.concat(parts);
            resolve(reply);
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else
        writeChunks(req, body.chunks).then(
          () => req.end(),
          (err: unknown) => req.destroy(err instanceof Error ? err : new Error(String(err))),
        );
    });
  }

  /** Like {@link request}, but any status other than `expected` is an error. */
  async expect(expected: number, method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const reply = await this.request(method, path, options);
    if (reply.status !== expected) throw new UnexpectedStatus(method, path, expected, reply);
    return reply;
  }

  close(): void {
    this.agent.destroy();
  }
}

async function writeChunks(req: http.ClientRequest, chunks: Iterable<Buffer>): Promise<void> {
  for (const chunk of chunks) {
    if (req.destroyed) return;
    if (!req.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          req.off('close', onClose);
          resolve();
        };
        const onClose = (): void => {
          req.off('drain', onDrain);
          reject(new Error('connection closed while sending the body'));
        };
        req.once('drain', onDrain);
        req.once('close', onClose);
      });
    }
  }
}
