/**
 * The direct GET of blob pulls (direct-get.ts) against a real S3 store (Ceph RGW): it streams
 * plain bodies and ranges byte for byte, even into a destination that calls its writes back
 * late (the buffers are reused), and declines, having written nothing, whatever it should leave
 * to the SDK. A local server stands in only for answers a real store does not give (chunked).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { CreateBucketCommand, DeleteBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Service } from '../../../test/support/services.js';
import { createS3Client } from './client.js';
import { directGet } from './direct-get.js';
import { S3Driver } from './driver.js';

const MiB = 1024 * 1024;
const s3 = s3Service();

/** A destination that keeps copies of what it was given, calling each write back after `delayMs`. */
function sink(delayMs = 0): { stream: Writable; bytes: () => Buffer; writes: () => number } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _enc, cb) {
      // Copied only when called back: a buffer refilled before then would show here.
      if (delayMs === 0) {
        chunks.push(Buffer.from(chunk));
        cb();
      } else {
        setTimeout(() => {
          chunks.push(Buffer.from(chunk));
          cb();
        }, delayMs);
      }
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks), writes: () => chunks.length };
}

const timeouts = { connectTimeoutMs: 10_000, idleTimeoutMs: 30_000 };

if (s3.skip !== undefined) {
  describe('S3 direct GET', { skip: s3.skip }, () => undefined);
} else {
  const { service } = s3;
  const bucket = `berth-test-${randomBytes(6).toString('hex')}`;
  let client: S3Client;
  let driver: S3Driver;
  const data = randomBytes(9 * MiB + 123);

  before(async () => {
    client = createS3Client({
      region: service.region,
      endpoint: service.endpoint,
      forcePathStyle: true,
      accessKey: service.accessKey,
      secretKey: service.secretKey,
    });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    driver = new S3Driver({ client, bucket, rootDirectory: 'direct' });
    const w = await driver.writer('blob');
    w.stream.end(data);
    await w.commit();
  });

  after(async () => {
    await driver.delete('');
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    client.destroy();
  });

  describe('S3 direct GET', () => {
    it('streams a whole object byte for byte into a destination that calls back late', async () => {
      const url = new URL(await driver.presignedUrl('blob'));
      assert.equal(url.protocol, 'http:', 'the test store is plain http');
      const out = sink(2);
      let opened = 0;
      const done = await directGet({ url, destination: out.stream, onOpen: () => opened++, ...timeouts });
      assert.equal(done, true);
      assert.equal(opened, 1);
      assert.equal(
        createHash('sha256').update(out.bytes()).digest('hex'),
        createHash('sha256').update(data).digest('hex'),
      );
    });

    it('streams ranges: bounded, open-ended, and through copyTo', async () => {
      const url = new URL(await driver.presignedUrl('blob'));
      const bounded = sink();
      assert.equal(
        await directGet({
          url,
          range: { offset: 5 * MiB - 7, length: 2 * MiB },
          destination: bounded.stream,
          ...timeouts,
        }),
        true,
      );
      assert.ok(bounded.bytes().equals(data.subarray(5 * MiB - 7, 7 * MiB - 7)));
      const tail = sink();
      assert.equal(
        await directGet({ url, range: { offset: 9 * MiB }, destination: tail.stream, ...timeouts }),
        true,
      );
      assert.ok(tail.bytes().equals(data.subarray(9 * MiB)));
      const viaDriver = sink(1);
      await driver.copyTo('blob', viaDriver.stream, { offset: 1, length: 3 * MiB });
      assert.ok(viaDriver.bytes().equals(data.subarray(1, 3 * MiB + 1)));
    });

    it('declines a missing key and a range past the end without opening or writing', async () => {
      for (const [path, range] of [
        ['nothing-here', undefined],
        ['blob', { offset: data.length + 10, length: 5 }],
      ] as const) {
        const out = sink();
        let opened = 0;
        const url = new URL(await driver.presignedUrl(path));
        const done = await directGet({
          url,
          range,
          destination: out.stream,
          onOpen: () => opened++,
          ...timeouts,
        });
        assert.equal(done, false, path);
        assert.equal(opened, 0);
        assert.equal(out.writes(), 0);
      }
    });

    it('declines a chunked answer and a refused connection', async () => {
      const server = http.createServer((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        res.end('chunked, no length');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        const out = sink();
        assert.equal(
          await directGet({
            url: new URL(`http://127.0.0.1:${port}/b/k`),
            destination: out.stream,
            ...timeouts,
          }),
          false,
        );
        assert.equal(out.writes(), 0);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
      const out = sink();
      assert.equal(
        await directGet({
          url: new URL(`http://127.0.0.1:${port}/b/k`),
          destination: out.stream,
          ...timeouts,
        }),
        false,
      );
    });

    it('fails the pull when the destination goes away mid-body', async () => {
      const url = new URL(await driver.presignedUrl('blob'));
      const out = sink(5);
      let written = 0;
      const destination = new Writable({
        write(chunk: Buffer, enc, cb) {
          written += chunk.length;
          if (written > MiB) destination.destroy();
          out.stream.write(chunk, enc, cb);
        },
      });
      await assert.rejects(directGet({ url, destination, ...timeouts }));
    });
  });
}
