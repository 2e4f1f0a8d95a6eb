/**
 * A load balancer for the replica tests: every request goes to the next backend in turn (round
 * robin, no stickiness), so the requests of one upload land on different replicas. Bodies stream
 * both ways (node:http, no buffering); `Location` headers that name a backend are rewritten to the
 * proxy, as a real load balancer's clients would only ever see its address. A backend that refuses
 * the connection (killed) is skipped for the next one, so a dead replica does not fail requests
 * that have not reached it yet.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RoundRobinProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, as a registry reference prefix. */
  host: string;
  /** How many requests each backend received, in backend order. */
  counts(): number[];
  /** Replaces the backend list (`http://127.0.0.1:PORT` each). */
  setBackends(urls: string[]): void;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(backends: string[], port = 0): Promise<RoundRobinProxy> {
  let targets = backends.map((u) => new URL(u));
  let counts = targets.map(() => 0);
  let next = 0;
  let self = '';

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, attempt: number): void => {
    const at = next++ % targets.length;
    const target = targets[at]!;
    counts[at]!++;
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        const headers = { ...answer.headers };
        const location = headers.location;
        if (typeof location === 'string') {
          for (const t of targets) {
            if (location.startsWith(t.origin)) headers.location = self + location.slice(t.origin.length);
          }
        }
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      // A dead backend that never saw the request: try the next one (the body is still unread).
      if (err.code === 'ECONNREFUSED' && attempt < targets.length && !res.headersSent) {
        forward(req, res, attempt + 1);
        return;
      }
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
      req.resume();
    });
    req.pipe(upstream);
  };

  const server = http.createServer((req, res) => forward(req, res, 1));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  self = `http://127.0.0.1:${bound}`;
  return {
    url: self,
    host: `127.0.0.1:${bound}`,
    counts: () => counts.slice(),
    setBackends: (urls) => {
      targets = urls.map((u) => new URL(u));
      counts = targets.map(() => 0);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
