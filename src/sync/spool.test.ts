import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { parseDigest } from '../oci/digest.js';
import { BlobSpool, DigestMismatchError, SizeMismatchError } from './spool.js';

const digestOf = (bytes: Buffer) => parseDigest(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);

/** Reads a stream to the end, or up to `limit` bytes (leaving the stream open). */
async function read(stream: Readable, limit = Infinity): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks);
}

/** Resolves once the spool has written at least `bytes`. */
async function writtenAtLeast(spool: BlobSpool, bytes: number): Promise<void> {
  while (spool.written < bytes) await tick();
}

describe('BlobSpool', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-spool-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a verified file where it is moved, while readers go on reading it, from memory and from disk', async () => {
    // Larger than what stays in memory: a reader that starts after the download reads the file.
    const blob = randomBytes(9 * 1024 * 1024 + 5);
    const spool = await BlobSpool.create(dir, digestOf(blob), blob.length);
    const source = new PassThrough();
    const filled = spool.fill(source);
    const early = read(spool.reader());
    source.end(blob);
    await filled;
    const late = read(spool.reader());
    await tick();
    const kept = path.join(dir, 'kept-blob');
    await spool.keep((file) => rename(file, kept));
    spool.release();
    assert.ok((await early).equals(blob));
    assert.ok((await late).equals(blob));
    await tick();
    assert.ok((await readFile(kept)).equals(blob), 'the kept file holds the blob and is not removed');
    assert.ok(spool.removed);
    await rm(kept);
  });

  it('refuses to keep a spool whose download failed the digest check', async () => {
    const blob = randomBytes(1000);
    const spool = await BlobSpool.create(dir, digestOf(randomBytes(8)), undefined);
    await assert.rejects(spool.fill(Readable.from([blob])), DigestMismatchError);
    await assert.rejects(
      spool.keep(async () => assert.fail('must not be called')),
      /only a verified spool/,
    );
    spool.release();
  });

  it('lets readers follow the download, joining at any time, and removes the file when all are done', async () => {
    const blob = randomBytes(3 * 1024 * 1024 + 17);
    const source = new PassThrough();
    const spool = await BlobSpool.create(dir, digestOf(blob), blob.length);
    const filled = spool.fill(source);
    const early = read(spool.reader());

    source.write(blob.subarray(0, 1024 * 1024));
    await writtenAtLeast(spool, 1024 * 1024);
    // A reader gets bytes while the download is still going.
    const partial = spool.reader();
    const got = await read(partial, 1000);
    assert.ok(got.length >= 1000 && got.length < 1024 * 1024, `read ${got.length} bytes`);
    assert.ok(got.equals(blob.subarray(0, got.length)));
    partial.destroy();

    const late = read(spool.reader());
    source.end(blob.subarray(1024 * 1024));
    await filled;
    assert.ok(spool.complete);
    assert.ok((await early).equals(blob));
    assert.ok((await late).equals(blob));
    // A reader created after the end still reads it all.
    const after = spool.reader();
    spool.release();
    assert.ok((await read(after)).equals(blob));
    // The file goes once the last reader has closed.
    for (let i = 0; i < 1000 && (await readdir(dir)).length > 0; i++) await tick();
    assert.deepEqual(await readdir(dir), []);
  });

  it('never gives a reader the whole of a blob whose digest is wrong', async () => {
    const blob = randomBytes(4096);
    const source = new PassThrough();
    const spool = await BlobSpool.create(dir, digestOf(Buffer.from('something else')), blob.length);
    const filled = spool.fill(source);
    const reader = read(spool.reader());
    source.end(blob);
    const [fill, got] = await Promise.allSettled([filled, reader]);
    assert.ok(fill.status === 'rejected' && fill.reason instanceof DigestMismatchError);
    assert.ok(got.status === 'rejected' && got.reason instanceof DigestMismatchError);
    spool.release();
  });

  it('fails when the upstream sends fewer bytes than it announced', async () => {
    const blob = randomBytes(1000);
    const source = new PassThrough();
    const spool = await BlobSpool.create(dir, digestOf(blob), 2000);
    const filled = spool.fill(source);
    source.end(blob);
    await assert.rejects(filled, SizeMismatchError);
    spool.release();
  });

  it('fails its readers when the upstream transfer breaks', async () => {
    const blob = randomBytes(1000);
    const source = new PassThrough();
    const spool = await BlobSpool.create(dir, digestOf(blob), blob.length);
    const filled = spool.fill(source);
    const reader = read(spool.reader());
    source.write(blob.subarray(0, 500));
    source.destroy(new Error('connection reset'));
    const [fill, got] = await Promise.allSettled([filled, reader]);
    assert.ok(fill.status === 'rejected' && /connection reset/.test(String(fill.reason)));
    assert.ok(got.status === 'rejected' && /connection reset/.test(String(got.reason)));
    spool.release();
  });
});
