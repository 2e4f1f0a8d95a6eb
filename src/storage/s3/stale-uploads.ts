/**
 * Multipart uploads nobody will complete: writers of processes that died mid-write leave them
 * behind, and S3 keeps (and bills) their parts until they are aborted. Garbage collection asks the
 * driver to abort those older than its cutoff.
 */
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';

/** Aborts the bucket's multipart uploads under `prefix` started before `cutoff`; returns how many. */
export async function abortStaleUploads(
  client: S3Client,
  bucket: string,
  prefix: string,
  cutoff: Date,
): Promise<number> {
  let aborted = 0;
  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker, UploadIdMarker }),
    );
    for (const upload of page.Uploads ?? []) {
      if (upload.Initiated && upload.Initiated < cutoff && upload.Key && upload.UploadId) {
        // One that fails to abort is tried again at the next collection.
        await client
          .send(
            new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }),
          )
          .catch(() => undefined);
        aborted++;
      }
    }
    if (!page.IsTruncated) return aborted;
    KeyMarker = page.NextKeyMarker;
    UploadIdMarker = page.NextUploadIdMarker;
  }
}
