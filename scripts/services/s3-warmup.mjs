// Warms a fresh S3 gateway up: Ceph RGW creates its data pools lazily, so the first CreateBucket
// (~2 s) and the first multipart upload (~5 s) are slow. Doing both once here keeps that cost out
// of the tests. Usage: node s3-warmup.mjs ENV_FILE (the `export NAME=value` lines ceph-rgw.sh wrote).
import { readFileSync } from 'node:fs';
import {
  S3Client,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteBucketCommand,
} from '@aws-sdk/client-s3';

const env = Object.fromEntries(
  readFileSync(process.argv[2], 'utf8')
    .split('\n')
    .map((line) => /^export ([A-Z0-9_]+)=(.*)$/.exec(line))
    .filter(Boolean)
    .map((m) => [m[1], m[2]]),
);
const s3 = new S3Client({
  endpoint: env.BERTH_TEST_S3_ENDPOINT,
  region: env.BERTH_TEST_S3_REGION,
  forcePathStyle: true,
  credentials: { accessKeyId: env.BERTH_TEST_S3_ACCESS_KEY, secretAccessKey: env.BERTH_TEST_S3_SECRET_KEY },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const Bucket = 'berth-warmup';
const Key = 'warmup';
await s3.send(new CreateBucketCommand({ Bucket }));
const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
const part = await s3.send(
  new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(16) }),
);
await s3.send(
  new CompleteMultipartUploadCommand({
    Bucket,
    Key,
    UploadId,
    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
  }),
);
await s3.send(new DeleteObjectCommand({ Bucket, Key }));
await s3.send(new DeleteBucketCommand({ Bucket }));
s3.destroy();
