/**
 * A minimal HTTP/1.1 client over one keep-alive socket, for the small read scenarios (manifest GET,
 * blob HEAD) where node:http's own per-request cost would make the load generator, not the server,
 * the limit on a small machine: the request is encoded once, and the response is parsed only as
 * far as its status, its headers and the length of its body.
 */
import { connect, type Socket } from 'node:net';

export interface RawReply {
  status: number;
  /** The raw header block, lower-cased, for the few checks the scenarios make. */
  head: string;
  bytes: number;
  /** The body, when the request asked to keep it. */
  body?: Buffer;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Encodes a request once; the same bytes are sent for every repetition. */
export function encodeRequest(
  method: string,
  host: string,
  path: string,
  headers: Record<string, string> = {},
): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}`, 'Connection: keep-alive'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

interface Pending {
  isHead: boolean;
  keepBody: boolean;
  resolve: (reply: RawReply) => void;
  reject: (err: Error) => void;
}

/** One connection, one request at a time (no pipelining): what a keep-alive client worker does. */
export class RawConnection {
  private socket: Socket | undefined;
  private pending: Pending | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private status = 0;
  private head = '';
  /** Body bytes still expected; -1 while reading headers; -2 for a chunked body. */
  private remaining = -1;
  private bodyBytes = 0;
  private bodyParts: Buffer[] = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  request(encoded: Buffer, isHead: boolean, keepBody = false): Promise<RawReply> {
    if (this.pending !== undefined) return Promise.reject(new Error('RawConnection: one request at a time'));
    return new Promise<RawReply>((resolve, reject) => {
      this.pending = { isHead, keepBody, resolve, reject };
      this.remaining = -1;
      this.bodyBytes = 0;
      this.bodyParts = [];
      this.buffer = Buffer.alloc(0);
      this.ensureSocket().write(encoded);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private ensureSocket(): Socket {
    if (this.socket !== undefined && !this.socket.destroyed) return this.socket;
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (err: Error): void => {
      // A socket this connection already dropped has nothing to do with the request in flight.
      if (this.socket !== socket) return;
      this.socket = undefined;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by the server')));
    this.socket = socket;
    return socket;
  }

  private onData(chunk: Buffer): void {
    if (this.pending === undefined) return;
    let data = chunk;
    if (this.remaining === -1) {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      const end = this.buffer.indexOf(CRLFCRLF);
      if (end < 0) return;
      this.head = this.buffer.toString('latin1', 0, end).toLowerCase();
      this.status = Number(this.head.slice(9, 12));
      data = this.buffer.subarray(end + 4);
      this.buffer = Buffer.alloc(0);
      const length = /\r\ncontent-length:\s*(\d+)/.exec(this.head);
      if (this.pending.isHead || this.status === 204 || this.status === 304) this.remaining = 0;
      else if (/\r\ntransfer-encoding:[^\r]*chunked/.test(this.head)) this.remaining = -2;
      else if (length?.[1] !== undefined) this.remaining = Number(length[1]);
      else {
        this.finish(new Error(`response without a length: ${this.head.split('\r\n')[0]}`));
        return;
      }
    }
    if (this.remaining === -2) {
      this.readChunked(data);
      return;
    }
    this.bodyBytes += data.length;
    if (this.pending.keepBody && data.length > 0) this.bodyParts.push(data);
    this.remaining -= data.length;
    if (this.remaining <= 0) this.finish();
  }

  /** Chunked bodies are rare here; they are buffered and decoded whole. */
  private readChunked(data: Buffer): void {
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    let offset = 0;
    let bytes = 0;
    const parts: Buffer[] = [];
    for (;;) {
      const eol = this.buffer.indexOf('\r\n', offset);
      if (eol < 0) return;
      const size = parseInt(this.buffer.toString('latin1', offset, eol), 16);
      if (Number.isNaN(size)) {
        this.finish(new Error('bad chunk size'));
        return;
      }
      if (size === 0) {
        if (this.buffer.indexOf(CRLFCRLF, eol - 2) < 0) return;
        this.bodyBytes = bytes;
        if (this.pending?.keepBody === true) this.bodyParts = parts;
        this.finish();
        return;
      }
      if (eol + 2 + size + 2 > this.buffer.length) return;
      parts.push(this.buffer.subarray(eol + 2, eol + 2 + size));
      bytes += size;
      offset = eol + 2 + size + 2;
    }
  }

  private finish(err?: Error): void {
    const p = this.pending;
    this.pending = undefined;
    this.remaining = -1;
    this.buffer = Buffer.alloc(0);
    if (p === undefined) return;
    if (err !== undefined) {
      this.close();
      p.reject(err);
    } else {
      if (/\r\nconnection:\s*close/.test(this.head)) this.close();
      const reply: RawReply = { status: this.status, head: this.head, bytes: this.bodyBytes };
      if (p.keepBody) reply.body = Buffer.concat(this.bodyParts);
      p.resolve(reply);
    }
  }
}

/** One {@link RawConnection} per worker of a run. */
export class RawPool {
  private readonly connections: RawConnection[] = [];
  readonly host: string;

  constructor(base: string) {
    const url = new URL(base);
    this.host = url.host;
    this.hostname = url.hostname;
    this.port = Number(url.port || 80);
  }

  private readonly hostname: string;
  private readonly port: number;

  connection(worker: number): RawConnection {
    let c = this.connections[worker];
    if (c === undefined) {
      c = new RawConnection(this.hostname, this.port);
      this.connections[worker] = c;
    }
    return c;
  }

  close(): void {
    for (const c of this.connections) c.close();
  }
}
