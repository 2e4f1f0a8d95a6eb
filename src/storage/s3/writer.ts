/**
 * The S3 driver's whole-file writer: bytes stream in through a Writable; a small file becomes one
 * PutObject at commit, a large one a multipart upload whose parts are sent as they fill. At most
 * one part is held in memory per writer: the write that fills a part waits until that part is
 * stored (backpressure reaches the client through the pipe).
 */
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isMissingKey } from './client.js';
import type { FileWriter } from '../driver.js';

/** S3's limits on multipart uploads. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;

export interface S3WriterTarget {
  client: S3Client;
  bucket: string;
  key: string;
  /** Bytes per multipart part (≥ MIN_PART_SIZE); a file of at most this size is one PutObject. */
  partSize: number;
  /** `If-None-Match: *`: commit fails when the key exists (see `ifAbsentFailed`). */
  ifAbsent: boolean;
  /** Maps an SDK failure of a write onto the driver's errors (quota → StorageFullError, ...). */
  mapError: (err: unknown) => unknown;
  /** The error of an `ifAbsent` commit that found the key taken. */
  alreadyExists: () => Error;
}

export class S3FileWriter implements FileWriter {
  readonly stream: Writable;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private written = 0;
  private uploadId: string | undefined;
  private readonly parts: CompletedPart[] = [];
  private committing: Promise<void> | undefined;
  private cancelled = false;

  constructor(private readonly target: S3WriterTarget) {
    this.stream = new Writable({
      highWaterMark: 1024 * 1024,
      write: (chunk: Buffer, _encoding, callback) => {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
        this.written += chunk.length;
        if (this.buffered < target.partSize) {
          callback();
          return;
        }
        this.sendFullParts().then(() => callback(), callback);
      },
      final: (callback) => callback(),
    });
  }

  size(): number {
    return this.written;
  }

  commit(): Promise<void> {
    this.committing ??= this.finish();
    return this.committing;
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    if (!this.stream.destroyed) this.stream.destroy();
    await this.committing?.catch(() => undefined);
    await this.abort();
    this.chunks = [];
    this.buffered = 0;
  }

  private async finish(): Promise<void> {
    if (!this.stream.writableEnded) this.stream.end();
    await finished(this.stream);
    if (this.cancelled) throw new Error('writer cancelled');
    const { client, bucket, key, ifAbsent } = this.target;
    const rest = this.take(this.buffered);
    try {
      if (this.uploadId === undefined) {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: rest,
            ContentLength: rest.length,
            ...(ifAbsent ? { IfNoneMatch: '*' } : {}),
          }),
        );
        return;
      }
      if (rest.length > 0) await this.sendPart(rest);
      // Ceph RGW 16 ignores If-None-Match on CompleteMultipartUpload (AWS honours it): look first.
      // The window between this look and the completion is a race only between creators of one
      // key; Berth creates large files ifAbsent only at content-addressed keys, whose racing
      // creators write the same bytes.
      if (ifAbsent && (await this.exists())) throw this.target.alreadyExists();
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: this.uploadId,
          MultipartUpload: { Parts: this.parts },
          ...(ifAbsent ? { IfNoneMatch: '*' } : {}),
        }),
      );
      this.uploadId = undefined;
    } catch (err) {
      await this.abort();
      throw this.target.mapError(err);
    }
  }

  private async exists(): Promise<boolean> {
    const { client, bucket, key } = this.target;
    try {
      await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (err) {
      if (isMissingKey(err)) return false;
      throw err;
    }
  }

  /** Sends every complete part in the buffer. */
  private async sendFullParts(): Promise<void> {
    try {
      while (this.buffered >= this.target.partSize) {
        await this.sendPart(this.take(this.target.partSize));
      }
    } catch (err) {
      await this.abort();
      throw this.target.mapError(err);
    }
  }

  private async sendPart(body: Buffer): Promise<void> {
    const { client, bucket, key } = this.target;
    if (this.parts.length >= MAX_PARTS) {
      throw new Error(`file too large for ${MAX_PARTS} parts of ${this.target.partSize} bytes: ${key}`);
    }
    this.uploadId ??= (
      await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
    ).UploadId;
    const PartNumber = this.parts.length + 1;
    const { ETag } = await client.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: this.uploadId,
        PartNumber,
        Body: body,
        ContentLength: body.length,
      }),
    );
    this.parts.push({ PartNumber, ETag });
  }

  /** Removes the first `n` buffered bytes and returns them as one Buffer. */
  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const head = all.subarray(0, n);
    // A copy of the (small) tail, so the part's memory is freed once the part is sent.
    const tail = Buffer.from(all.subarray(n));
    this.chunks = tail.length > 0 ? [tail] : [];
    this.buffered = tail.length;
    return head;
  }

  private async abort(): Promise<void> {
    const uploadId = this.uploadId;
    if (uploadId === undefined) return;
    this.uploadId = undefined;
    const { client, bucket, key } = this.target;
    await client
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
      .catch(() => undefined);
  }
}
