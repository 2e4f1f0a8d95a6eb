/**
 * Serving an object from a plain-http S3 endpoint without Node's HTTP client (the S3 driver's
 * `copyTo`, i.e. every blob pull that is not redirected).
 *
 * Why: through `GetObject` every socket read lands in a fresh buffer (64 KiB), so a 100 MiB pull
 * allocates 100 MiB that V8 counts as external memory and answers with a mark-compact of the
 * whole heap every few megabytes ("external memory pressure" in `--trace-gc`). Measured on Ceph
 * RGW: half of the registry's CPU per pull went to garbage collection, and pulls ran at 0.44x of
 * CNCF Distribution's from the same store. Here the GET goes over a plain socket that reads into
 * a few reused buffers (`net`'s `onread`), each refilled only once the destination has called
 * back the write that carried it, as the filesystem driver's `copyTo` does. The request is a
 * presigned URL (presign.ts), so nothing else of the SDK is involved.
 *
 * Scope, kept small on purpose: `http:` endpoints only (TLS sockets take no `onread`), and only
 * a plain answer is streamed — 200 (206 with the asked range) with a Content-Length and no
 * transfer coding. Anything else (an S3 error such as NoSuchKey, a range past the end, a
 * redirect, a refused connection) is dropped before a byte is written and `directGet` resolves
 * false: the caller then reads through the SDK, which maps the error as every other read does.
 * So this path can make a pull faster, never answer differently.
 */
import { connect, type Socket } from 'node:net';
import { finished, type Writable } from 'node:stream';

/** Bytes per socket read; RGW rarely has more than ~100 KiB queued at once on loopback. */
const BUFFER_SIZE = 256 * 1024;
/** How long a finished GET waits for the store to close the connection before closing it itself. */
const LINGER_MS = 5_000;
/** A response head longer than this is not one this reader wants. */
const MAX_HEAD = 64 * 1024;

export interface DirectGetRequest {
  /** A presigned GET URL on an `http:` endpoint. */
  url: URL;
  /** Bytes wanted; the whole object when absent. `length` ≥ 1. */
  range?: { offset: number; length?: number | undefined } | undefined;
  destination: Writable;
  /** Called once, right before the first body byte is written (never when falling back). */
  onOpen?: (() => void) | undefined;
  /** Connection set-up, then silence on an open connection (ms). */
  connectTimeoutMs: number;
  idleTimeoutMs: number;
}

interface Head {
  status: number;
  headers: Map<string, string>;
}

function parseHead(text: string): Head | undefined {
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!status) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(status[1]), headers };
}

/** The body length when `head` answers `range` exactly as asked, else undefined (fall back). */
function expectedBody(head: Head, range: DirectGetRequest['range']): number | undefined {
  if (head.headers.has('transfer-encoding')) return undefined;
  const lengthText = head.headers.get('content-length');
  if (lengthText === undefined || !/^\d+$/.test(lengthText)) return undefined;
  const length = Number(lengthText);
  if (range === undefined) return head.status === 200 ? length : undefined;
  if (head.status !== 206) return undefined;
  const contentRange = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(head.headers.get('content-range') ?? '');
  if (!contentRange || Number(contentRange[1]) !== range.offset) return undefined;
  if (Number(contentRange[2]) - Number(contentRange[1]) + 1 !== length) return undefined;
  if (range.length !== undefined && length > range.length) return undefined;
  return length;
}

/**
 * GETs `url` and writes the body into `destination` (not ended). Resolves true once the last
 * byte's write was called back; false, having written nothing, when the answer is not a plain
 * body (see the header); rejects when the transfer fails after `onOpen`.
 */
export function directGet(request: DirectGetRequest): Promise<boolean> {
  const { url, range, destination } = request;
  return new Promise<boolean>((resolve, reject) => {
    /** Buffers whose bytes the destination has taken: the next reads go there. */
    const spare: Buffer[] = [];
    let head: Buffer | undefined = Buffer.alloc(0);
    let remaining = 0;
    let pending = 0;
    let settled = false;

    const settle = (outcome: { ok: boolean } | { err: Error }): void => {
      if (settled) return;
      settled = true;
      stopWatching();
      // After a whole body the store closes the connection (Connection: close): waiting for that
      // leaves the TIME_WAIT on its side instead of spending one of this host's ports per pull.
      if ('ok' in outcome && outcome.ok) socket.setTimeout(LINGER_MS);
      else socket.destroy();
      if ('err' in outcome) reject(outcome.err);
      else resolve(outcome.ok);
    };
    /** Before the first byte went out every failure falls back; after, it is the pull's. */
    const fail = (err: Error): void => settle(head !== undefined ? { ok: false } : { err });

    const onRead = (nread: number, buf: Buffer): boolean => {
      // Read on to the store's close (see `settle`); nothing more is expected.
      if (settled) return true;
      let chunk = buf.subarray(0, nread);
      let pooled = true;
      if (head !== undefined) {
        head = Buffer.concat([head, chunk]);
        spare.push(buf);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > MAX_HEAD) settle({ ok: false });
          return !settled;
        }
        const parsed = parseHead(head.subarray(0, end).toString('latin1'));
        const length = parsed && expectedBody(parsed, range);
        if (length === undefined) {
          settle({ ok: false });
          return false;
        }
        chunk = head.subarray(end + 4);
        pooled = false;
        head = undefined;
        remaining = length;
        // From here on nothing falls back: the caller sends its headers now.
        request.onOpen?.();
        if (remaining === 0) {
          settle({ ok: true });
          return true;
        }
      }
      if (chunk.length === 0) return true;
      if (chunk.length > remaining) {
        settle({ err: new Error(`S3 sent more than the ${remaining} bytes left of ${url.pathname}`) });
        return false;
      }
      remaining -= chunk.length;
      // The whole body is in: the connection has nothing more to say (and the store closes it).
      if (remaining === 0) socket.setTimeout(LINGER_MS);
      pending++;
      const more = destination.write(chunk, (err) => {
        pending--;
        if (pooled) spare.push(buf);
        if (err) settle({ err });
        else if (remaining === 0 && pending === 0) settle({ ok: true });
      });
      if (remaining === 0) return true;
      if (!more) {
        destination.once('drain', () => {
          if (!settled) socket.resume();
        });
        return false;
      }
      return true;
    };

    const socket: Socket = connect({
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'), // an IPv6 literal comes bracketed
      port: Number(url.port || 80),
      onread: { buffer: () => spare.pop() ?? Buffer.allocUnsafeSlow(BUFFER_SIZE), callback: onRead },
    });
    socket.setNoDelay(true);
    socket.setTimeout(request.connectTimeoutMs);
    socket.on('timeout', () => {
      if (settled) socket.destroy();
      else fail(new Error(`S3 read of ${url.pathname} timed out`));
    });
    socket.on('error', (err) => fail(err));
    socket.on('close', () => {
      // After the last body byte the close is expected; the pending writes settle the call.
      if (!settled && (head !== undefined || remaining > 0))
        fail(new Error(`S3 closed the connection with ${remaining} bytes of ${url.pathname} left`));
    });
    socket.on('connect', () => {
      socket.setTimeout(request.idleTimeoutMs);
      const rangeHeader =
        range === undefined
          ? ''
          : `Range: bytes=${range.offset}-${range.length === undefined ? '' : range.offset + range.length - 1}\r\n`;
      socket.write(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${rangeHeader}Connection: close\r\n\r\n`,
      );
    });
    // A destination that closes early (the client went away) ends the read. (Every settle comes
    // from a callback, so after this line.)
    const stopWatching = finished(destination, { readable: false }, (err) => {
      fail(err ?? new Error('destination closed'));
    });
  });
}
