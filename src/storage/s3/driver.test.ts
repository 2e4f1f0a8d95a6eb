/**
 * The S3 driver against a real S3 store (Ceph RGW, see test/support/services.ts): the shared
 * storage contract, then what is particular to S3 (re-assembly of small parts, key prefixes,
 * batched deletes). Every run works in a bucket of its own, deleted at the end.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CreateBucketCommand, DeleteBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Service } from '../../../test/support/services.js';
import { createS3Client } from './client.js';
import { S3Driver } from './driver.js';
import { describeDriverContract } from '../contract.js';
import { AlreadyExistsError } from '../errors.js';

const MiB = 1024 * 1024;
const s3 = s3Service();

if (s3.skip !== undefined) {
  describe('S3 driver', { skip: s3.skip }, () => undefined);
} else {
  const { service } = s3;
  const bucket = `berth-test-${randomBytes(6).toString('hex')}`;
  let client: S3Client;
  let roots = 0;
  /** A driver over a fresh, empty prefix of the run's bucket. */
  const fresh = async (options: { partSize?: number } = {}): Promise<S3Driver> =>
    new S3Driver({ client, bucket, rootDirectory: `run/${++roots}`, ...options });

  before(async () => {
    client = createS3Client({
      region: service.region,
      endpoint: service.endpoint,
      forcePathStyle: true,
      accessKey: service.accessKey,
      secretKey: service.secretKey,
    });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  });

  after(async () => {
    await new S3Driver({ client, bucket }).delete('');
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    client.destroy();
  });

  describeDriverContract('s3 (Ceph RGW)', () => fresh());

  describe('S3 driver specifics', () => {
    it('assembles parts of every size mix into one object, whatever falls under the 5 MiB minimum', async () => {
      const d = await fresh({ partSize: 5 * MiB });
      const cases = [
        [1 * MiB, 7 * MiB, 3 * MiB, 6 * MiB, 2 * MiB],
        [6 * MiB, 1, 1, 6 * MiB],
        [4 * MiB, 4 * MiB, 4 * MiB],
        [12 * MiB, 5 * MiB - 1, 5 * MiB + 1],
      ];
      for (const [i, sizes] of cases.entries()) {
        const id = await d.startParts(`mix/${i}`);
        const whole = createHash('sha256');
        const parts = [];
        for (const [n, size] of sizes.entries()) {
          const bytes = randomBytes(size);
          whole.update(bytes);
          parts.push(await d.writePart(`mix/${i}`, id, n + 1, Readable.from([bytes])));
        }
        await d.completeParts(`mix/${i}`, id, parts);
        const stored = createHash('sha256');
        for await (const chunk of await d.reader(`mix/${i}`)) stored.update(chunk as Buffer);
        assert.equal(stored.digest('hex'), whole.digest('hex'), `sizes ${sizes.join(', ')}`);
        assert.equal(
          (await d.stat(`mix/${i}`)).size,
          sizes.reduce((a, b) => a + b, 0),
        );
      }
      assert.deepEqual(await d.list(''), ['mix'], 'no upload leftovers at the root');
    });

    it('a multipart (large) ifAbsent writer refuses an existing key, though RGW ignores If-None-Match on completion', async () => {
      const d = await fresh({ partSize: 5 * MiB });
      await d.putContent('taken', Buffer.from('first'));
      const w = await d.writer('taken', { ifAbsent: true });
      await pipeline(Readable.from([randomBytes(6 * MiB), randomBytes(MiB)]), w.stream);
      await assert.rejects(w.commit(), AlreadyExistsError);
      assert.equal((await d.getContent('taken')).toString(), 'first');
      const free = await d.writer('free', { ifAbsent: true });
      await pipeline(Readable.from([randomBytes(6 * MiB), randomBytes(MiB)]), free.stream);
      await free.commit();
      assert.equal((await d.stat('free')).size, 7 * MiB);
    });

    it('presigned URLs serve the object, for the signed method only, and refuse a tampered signature', async () => {
      const d = await fresh();
      await d.putContent('dir/blob name+x', Buffer.from('presigned body'));
      const get = await d.presignedUrl('dir/blob name+x', { expiresIn: 60 });
      const response = await fetch(get);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'presigned body');
      assert.equal((await fetch(get, { method: 'HEAD' })).status, 403, 'a GET URL does not sign a HEAD');
      const head = await fetch(await d.presignedUrl('dir/blob name+x', { method: 'HEAD' }), {
        method: 'HEAD',
      });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), '14');
      const tampered = get.replace(
        /X-Amz-Signature=([0-9a-f])/,
        (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`,
      );
      assert.equal((await fetch(tampered)).status, 403);
    });

    it('aborts multipart uploads left by a writer that never committed, older than the cutoff only', async () => {
      const d = await fresh({ partSize: 5 * MiB });
      const other = await fresh();
      const abandoned = await d.writer('abandoned');
      await new Promise<void>((resolve, reject) =>
        abandoned.stream.write(randomBytes(6 * MiB), (err) => (err ? reject(err) : resolve())),
      );
      const elsewhere = await other.writer('elsewhere');
      await new Promise<void>((resolve, reject) =>
        elsewhere.stream.write(randomBytes(11 * MiB), (err) => (err ? reject(err) : resolve())),
      );
      assert.equal(
        await d.abortStaleMultipartUploads(new Date(Date.now() - 3_600_000)),
        0,
        'nothing is an hour old',
      );
      assert.equal(
        await d.abortStaleMultipartUploads(new Date(Date.now() + 60_000)),
        1,
        'only under its own root',
      );
      assert.equal(await d.abortStaleMultipartUploads(new Date(Date.now() + 60_000)), 0);
      await assert.rejects(abandoned.commit(), 'the writer finds its upload gone');
      await elsewhere.commit();
      assert.equal((await other.stat('elsewhere')).size, 11 * MiB);
    });

    it('keeps drivers with different root directories apart', async () => {
      const a = await fresh();
      const b = await fresh();
      await a.putContent('x/y', Buffer.from('a'));
      await assert.rejects(b.stat('x/y'));
      assert.deepEqual(await b.list(''), []);
      assert.deepEqual(await a.list(''), ['x']);
    });

    it('deletes a folder of more than 1,000 objects (DeleteObjects in batches)', async () => {
      const d = await fresh();
      const names = Array.from({ length: 1100 }, (_, i) => `many/k${i}`);
      for (let i = 0; i < names.length; i += 100) {
        await Promise.all(names.slice(i, i + 100).map((n) => d.putContent(n, Buffer.from('1'))));
      }
      await d.putContent('keep', Buffer.from('2'));
      await d.delete('many');
      assert.deepEqual(await d.list('many'), []);
      assert.deepEqual(await d.list(''), ['keep']);
    });
  });
}
