import assert from 'node:assert/strict';
import http, { type IncomingHttpHeaders } from 'node:http';
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
  type Socket,
} from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Transport, TransportError } from './transport.js';

function listen(server: http.Server | TcpServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

describe('Transport', () => {
  const sockets = new Set<Socket>();
  /** Accepts connections and never answers. */
  const silent = createTcpServer((socket) => {
    sockets.add(socket);
    socket.resume();
  });
  /** Sends a response head and part of the body, then nothing. */
  const halfway = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': '1000' });
    res.write(Buffer.alloc(100));
  });
  halfway.on('connection', (s) => sockets.add(s));
  const seen: IncomingHttpHeaders[] = [];
  let otherPort = 0;
  /** Redirects /same to /target on itself and /away to the other server. */
  const redirecting = http.createServer((req, res) => {
    seen.push(req.headers);
    if (req.url === '/same') res.writeHead(307, { location: '/target' }).end();
    else if (req.url === '/away')
      res.writeHead(307, { location: `http://127.0.0.1:${otherPort}/target` }).end();
    else res.writeHead(200, { 'content-length': '2' }).end('ok');
  });
  const other = http.createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-length': '2' }).end('ok');
  });
  const ports: Record<string, number> = {};
  const transport = new Transport({ tlsVerify: true, connectTimeoutMs: 2_000, stallTimeoutMs: 300 });

  before(async () => {
    ports.silent = await listen(silent);
    ports.halfway = await listen(halfway);
    ports.redirecting = await listen(redirecting);
    otherPort = await listen(other);
  });

  after(async () => {
    transport.close();
    for (const s of sockets) s.destroy();
    await Promise.all(
      [silent, halfway, redirecting, other].map((s) => new Promise((resolve) => s.close(resolve))),
    );
  });

  it('gives up with a stall error when no response head comes', async () => {
    await assert.rejects(
      transport.request(new URL(`http://127.0.0.1:${ports.silent}/v2/`), { method: 'GET' }),
      (err: unknown) => err instanceof TransportError && err.kind === 'stall',
    );
  });

  it('fails the body with a stall error when it stops arriving', async () => {
    const res = await transport.request(new URL(`http://127.0.0.1:${ports.halfway}/blob`), { method: 'GET' });
    assert.equal(res.status, 200);
    await assert.rejects(
      (async () => {
        for await (const _ of res.body) {
          // drain
        }
      })(),
      (err: unknown) => err instanceof TransportError && err.kind === 'stall',
    );
  });

  it('reports a refused connection as a network error', async () => {
    const closed = http.createServer();
    const port = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(
      transport.request(new URL(`http://127.0.0.1:${port}/`), { method: 'GET' }),
      (err: unknown) => err instanceof TransportError && err.kind === 'network',
    );
  });

  it('sends a request again when a kept-alive connection turns out closed', async () => {
    // Answers the first request of each connection and hangs up on the second, as an upstream
    // does when it drops an idle keep-alive connection just as it is reused.
    const own = new Set<Socket>();
    const flaky = createTcpServer((socket) => {
      own.add(socket);
      let requests = 0;
      socket.on('data', () => {
        requests++;
        if (requests === 1)
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
        else socket.destroy();
      });
    });
    const port = await listen(flaky);
    try {
      for (let i = 0; i < 3; i++) {
        const res = await transport.request(new URL(`http://127.0.0.1:${port}/`), { method: 'GET' });
        assert.equal(res.status, 200);
        for await (const _ of res.body) {
          // drain, so the connection goes back to the pool
        }
      }
      assert.equal(own.size, 3);
    } finally {
      for (const socket of own) socket.destroy();
      await new Promise((resolve) => flaky.close(resolve));
    }
  });

  it('follows redirects, keeping Authorization on the same origin and dropping it elsewhere', async () => {
    seen.length = 0;
    const same = await transport.request(new URL(`http://127.0.0.1:${ports.redirecting}/same`), {
      method: 'GET',
      headers: { authorization: 'Bearer secret' },
    });
    same.body.resume();
    assert.equal(same.status, 200);
    assert.equal(same.url.pathname, '/target');
    assert.deepEqual(
      seen.map((h) => h.authorization),
      ['Bearer secret', 'Bearer secret'],
    );

    seen.length = 0;
    const away = await transport.request(new URL(`http://127.0.0.1:${ports.redirecting}/away`), {
      method: 'GET',
      headers: { authorization: 'Bearer secret' },
    });
    away.body.resume();
    assert.equal(away.status, 200);
    assert.equal(away.url.port, String(otherPort));
    assert.deepEqual(
      seen.map((h) => h.authorization),
      ['Bearer secret', undefined],
    );
  });
});
