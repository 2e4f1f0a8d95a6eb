/**
 * What the S3 driver assumes about Ceph RGW 16 (the header of driver.ts lists these facts and
 * issue 10 measured them). Run against the test store with the raw SDK client, so that a Ceph
 * upgrade that changes one of them shows up here, by name, rather than as a mysterious driver bug.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3Service } from '../../../test/support/services.js';
import { createS3Client, errorCode } from './client.js';
import { S3Driver } from './driver.js';

const MiB = 1024 * 1024;
const s3 = s3Service();

/** The S3 error code a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return errorCode(err);
  }
  assert.fail('expected the request to fail');
}

describe('Ceph RGW facts the S3 driver relies on', { skip: s3.skip }, () => {
  const bucket = `berth-facts-${randomBytes(6).toString('hex')}`;
  let client: S3Client;

  before(async () => {
    const service = s3.service!;
    client = createS3Client({ ...service, forcePathStyle: true });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  });

  after(async () => {
    await new S3Driver({ client, bucket }).delete('');
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    client.destroy();
  });

  it('the key of an in-progress multipart upload answers 404 (nothing visible before completion)', async () => {
    const Key = 'in-progress';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
    await client.send(
      new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(10) }),
    );
    assert.equal(await rejection(client.send(new HeadObjectCommand({ Bucket: bucket, Key }))), 'NotFound');
  });

  it('a part under 5 MiB that is not the last fails the completion with EntityTooSmall', async () => {
    const Key = 'too-small';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
    const sizes = [MiB, MiB];
    const Parts = [];
    for (const [i, size] of sizes.entries()) {
      const PartNumber = i + 1;
      const out = await client.send(
        new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber, Body: Buffer.alloc(size) }),
      );
      Parts.push({ PartNumber, ETag: out.ETag });
    }
    const code = await rejection(
      client.send(
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts } }),
      ),
    );
    assert.equal(code, 'EntityTooSmall');
  });

  it('PUT with If-None-Match: * is refused (412) when the key exists', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'inm', Body: 'one' }));
    const code = await rejection(
      client.send(new PutObjectCommand({ Bucket: bucket, Key: 'inm', Body: 'two', IfNoneMatch: '*' })),
    );
    assert.equal(code, 'PreconditionFailed');
  });

  it('If-Match compares against the bare ETag: the standard quoted form is refused even when it matches', async () => {
    const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'im', Body: 'one' }));
    assert.match(put.ETag ?? '', /^"[0-9a-f]{32}"$/);
    const quoted = await rejection(
      client.send(new PutObjectCommand({ Bucket: bucket, Key: 'im', Body: 'two', IfMatch: put.ETag })),
    );
    assert.equal(quoted, 'PreconditionFailed');
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'im',
        Body: 'three',
        IfMatch: put.ETag!.replace(/"/g, ''),
      }),
    );
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'im' }));
    assert.equal(head.ContentLength, 5);
  });

  it('CompleteMultipartUpload ignores If-None-Match: * and replaces an existing key', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'cmu', Body: 'one' }));
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'cmu' }));
    const part = await client.send(
      new UploadPartCommand({ Bucket: bucket, Key: 'cmu', UploadId, PartNumber: 1, Body: Buffer.alloc(7) }),
    );
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'cmu',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        IfNoneMatch: '*',
      }),
    );
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'cmu' }));
    assert.equal(head.ContentLength, 7);
  });

  it('Last-Modified is whole seconds on HEAD, the same instant to the millisecond in listings', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'lm', Body: 'x' }));
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'lm' }));
    const listing = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'lm' }));
    const listed = listing.Contents?.[0]?.LastModified?.getTime();
    assert.ok(listed !== undefined && head.LastModified !== undefined);
    assert.equal(head.LastModified.getTime() % 1000, 0);
    assert.equal(Math.floor(listed / 1000) * 1000, head.LastModified.getTime());
  });
});
