/**
 * Server-side copies on the S3 store: one object copied whole (CopyObject, or a multipart copy
 * above its 5 GiB limit), and an object assembled from several in order as a multipart upload
 * planned by `assembly.ts` (large sources copied server-side, small runs merged and re-uploaded).
 * The driver's `completeParts`, `move` and `link` use them.
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { partBytes, planAssembly } from './assembly.js';
import { MAX_PARTS, MIN_PART_SIZE } from './writer.js';

/** Largest object CopyObject (and one UploadPartCopy) takes. */
const MAX_COPY = 5 * 1024 * 1024 * 1024;
/** Parts of one assembly sent at once. */
const ASSEMBLY_CONCURRENCY = 4;

/** Where copies happen: the client, the bucket, and the part size for re-uploaded runs. */
export interface CopyTarget {
  client: S3Client;
  bucket: string;
  partSize: number;
}

/**
 * Builds `key` from whole objects in order, as a multipart upload planned by `planAssembly`:
 * large sources copied server-side, small ones merged and re-uploaded. Parts are independent,
 * so a few run at once.
 */
export async function assembleObject(
  target: CopyTarget,
  sources: { key: string; size: number }[],
  key: string,
): Promise<void> {
  const plan = planAssembly(
    sources.map((s) => s.size),
    { minPart: MIN_PART_SIZE, partSize: target.partSize, maxCopy: MAX_COPY },
  );
  if (plan.length === 0) {
    await target.client.send(
      new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: Buffer.alloc(0), ContentLength: 0 }),
    );
    return;
  }
  if (plan.length > MAX_PARTS) throw new Error(`too many parts (${plan.length}) assembling ${key}`);
  const { UploadId } = await target.client.send(
    new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: key }),
  );
  const completed: CompletedPart[] = new Array<CompletedPart>(plan.length);
  const sendPart = async (index: number): Promise<void> => {
    const segments = plan[index]!;
    const PartNumber = index + 1;
    const only = segments.length === 1 ? segments[0]! : undefined;
    if (only) {
      const out = await target.client.send(
        new UploadPartCopyCommand({
          Bucket: target.bucket,
          Key: key,
          UploadId,
          PartNumber,
          CopySource: copySource(target.bucket, sources[only.source]!.key),
          CopySourceRange: `bytes=${only.start}-${only.end - 1}`,
        }),
      );
      completed[index] = { PartNumber, ETag: out.CopyPartResult?.ETag };
      return;
    }
    // The merged bytes stream from their sources into the part: nothing is buffered whole.
    const bucket = target.bucket;
    const client = target.client;
    const body = Readable.from(
      (async function* () {
        for (const segment of segments) {
          const got = await client.send(
            new GetObjectCommand({
              Bucket: bucket,
              Key: sources[segment.source]!.key,
              Range: `bytes=${segment.start}-${segment.end - 1}`,
            }),
          );
          yield* got.Body as Readable;
        }
      })(),
    );
    const out = await target.client.send(
      new UploadPartCommand({
        Bucket: target.bucket,
        Key: key,
        UploadId,
        PartNumber,
        Body: body,
        ContentLength: partBytes(segments),
      }),
    );
    completed[index] = { PartNumber, ETag: out.ETag };
  };
  try {
    // A few parts at once (server-side copies mostly; merged parts stream through).
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(ASSEMBLY_CONCURRENCY, plan.length) }, async () => {
        while (next < plan.length) await sendPart(next++);
      }),
    );
    await target.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: target.bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: completed },
      }),
    );
  } catch (err) {
    await target.client
      .send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: key, UploadId }))
      .catch(() => undefined);
    throw err;
  }
}

/** Server-side copy of a whole object of `size` bytes; multipart above CopyObject's 5 GiB. */
export async function copyObject(
  target: CopyTarget,
  source: string,
  size: number,
  destination: string,
): Promise<void> {
  if (size <= MAX_COPY) {
    await target.client.send(
      new CopyObjectCommand({
        Bucket: target.bucket,
        Key: destination,
        CopySource: copySource(target.bucket, source),
      }),
    );
    return;
  }
  await assembleObject(target, [{ key: source, size }], destination);
}

/** `x-amz-copy-source`: the bucket and the URL-encoded key. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
