/**
 * Pipelined requests on one keep-alive connection: answers go out in request order, an error for
 * a later (malformed) request never cuts an earlier answer, and a blob GET whose connection ends
 * early (junk after it, or the client hanging up) stops copying and closes its file.
 * Raw `net.Socket`s against a real server; open files are counted in `/proc/<pid>/fd`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { blobOf, seededBytes, randomSeed, uploadBlob } from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';

let server: RunningServer;
const repo = 'pipelining/big';
// Large enough that its copy is still running when the junk after it is parsed.
const big = blobOf(seededBytes(48 * 1024 * 1024, randomSeed()));

before(async () => {
  server = await startBerth();
  await uploadBlob(server.url, repo, big);
});
after(async () => {
  await server?.stop();
});

/** Descriptors the server process holds open on files under `blobs/`. */
function openBlobFiles(): number {
  const dir = `/proc/${server.proc.pid}/fd`;
  let n = 0;
  for (const fd of readdirSync(dir)) {
    try {
      if (readlinkSync(`${dir}/${fd}`).includes('/blobs/')) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

/** Polls until no blob file is open; returns the last count seen (0 on success). */
async function settledOpenBlobFiles(): Promise<number> {
  let n = openBlobFiles();
  for (let i = 0; i < 100 && n > 0; i++) {
    await sleep(100);
    n = openBlobFiles();
  }
  return n;
}

/** Writes `data` on a fresh connection and collects everything until the server closes it. */
function exchange(data: string | Buffer, options: { readDelayMs?: number } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.setTimeout(60_000, () => socket.destroy(new Error('no close within 60 s')));
    if (options.readDelayMs) {
      // Do not read for a while, so the server's writes back up while the junk is parsed.
      socket.pause();
      setTimeout(() => socket.resume(), options.readDelayMs);
    }
    socket.write(data);
  });
}

/** Status lines found in a stream of raw HTTP answers, in order. */
function statusLines(raw: Buffer): string[] {
  return raw.toString('latin1').match(/HTTP\/1\.1 \d{3}[^\r]*/g) ?? [];
}

const JUNK = 'THIS IS NOT HTTP\x00\x01\r\n\r\n';

describe('pipelined requests followed by junk', () => {
  it('GET /v2/ then junk: the 200 comes first, then the 400 with the error envelope', async () => {
    const raw = await exchange(`GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n${JUNK}`);
    const lines = statusLines(raw);
    assert.equal(lines.length, 2, raw.toString('latin1'));
    assert.match(lines[0]!, /^HTTP\/1\.1 200/);
    assert.match(lines[1]!, /^HTTP\/1\.1 400/);
    assert.match(raw.toString('latin1'), /"errors":\[/);
  });

  it('two valid requests then junk: both answers in order, then the 400', async () => {
    const raw = await exchange(
      `GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\nGET /v2/_catalog HTTP/1.1\r\nHost: x\r\n\r\n${JUNK}`,
    );
    const lines = statusLines(raw);
    assert.deepEqual(
      lines.map((l) => l.slice(9, 12)),
      ['200', '200', '400'],
      raw.toString('latin1'),
    );
    assert.ok(raw.toString('latin1').includes('"repositories"'));
  });

  it('a blob GET then junk: the whole blob arrives, then the 400, and no file stays open', async () => {
    const raw = await exchange(`GET /v2/${repo}/blobs/${big.digest} HTTP/1.1\r\nHost: x\r\n\r\n${JUNK}`, {
      readDelayMs: 500,
    });
    const head = raw.subarray(0, 200).toString('latin1');
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.ok(raw.length > big.size, `got ${raw.length} bytes for a ${big.size}-byte blob`);
    assert.match(raw.subarray(raw.length - 400).toString('latin1'), /HTTP\/1\.1 400/);
    assert.equal(await settledOpenBlobFiles(), 0);
  });
});

describe('a blob GET whose client hangs up', () => {
  it('ends its copy and closes the file', async () => {
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(server.port, '127.0.0.1');
        let got = 0;
        socket.on('data', (c: Buffer) => {
          got += c.length;
          // Some bytes arrived: the copy loop is running. Stop reading and go.
          if (got > 256 * 1024) {
            socket.destroy();
            resolve();
          }
        });
        socket.on('error', (err) => reject(new Error(`iteration ${i} after ${got} bytes`, { cause: err })));
        socket.write(`GET /v2/${repo}/blobs/${big.digest} HTTP/1.1\r\nHost: x\r\n\r\n`);
      });
    }
    assert.equal(await settledOpenBlobFiles(), 0);
    // And the server still serves.
    const raw = await exchange(`GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(raw.toString('latin1'), /^HTTP\/1\.1 200/);
  });
});

describe('requests the HTTP parser refuses', () => {
  it('oversized headers get 431 with the error envelope, not 400 SIZE_INVALID', async () => {
    const raw = await exchange(`GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40 * 1024)}\r\n\r\n`);
    const text = raw.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 431 /);
    assert.match(text, /"errors":\[\{"code":"UNKNOWN"/);
  });
});
