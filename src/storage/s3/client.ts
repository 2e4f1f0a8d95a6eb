/**
 * Builds the AWS SDK client the S3 driver talks through, configured for every S3 dialect Berth
 * targets (AWS, Ceph RGW, MinIO, R2, Swift's s3api), and classifies the SDK's errors.
 */
import { createHash } from 'node:crypto';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface S3ConnectionOptions {
  /** Region for request signing; most S3-compatible stores accept any. */
  region: string;
  /** `host[:port]` or a URL of an S3-compatible store; absent for AWS itself. */
  endpoint?: string | undefined;
  /** Bucket name in the URL path rather than the host name (loopback and most self-hosted stores). */
  forcePathStyle?: boolean | undefined;
  /** https (default) or http when `endpoint` has no scheme. */
  secure?: boolean | undefined;
  /** Accept any TLS certificate from the endpoint (self-signed test stores only). */
  skipVerify?: boolean | undefined;
  /** Static keys; without them the SDK's default credential chain (env, profile, IMDS, ...). */
  accessKey?: string | undefined;
  secretKey?: string | undefined;
}

/** The endpoint as a URL: zot's `regionendpoint` may be a bare host, the scheme then follows `secure`. */
export function endpointUrl(endpoint: string, secure: boolean): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `${secure ? 'https' : 'http'}://${endpoint}`;
}

/** A store that stops answering must fail the request, not hang it (Ceph blocks writes on a full OSD). */
export const CONNECT_TIMEOUT_MS = 10_000;
/** Socket silence tolerated on an open request. */
export const IDLE_TIMEOUT_MS = 120_000;

export function createS3Client(options: S3ConnectionOptions): S3Client {
  const config: S3ClientConfig = {
    region: options.region,
    forcePathStyle: options.forcePathStyle ?? false,
    // Since SDK 3.729 streamed bodies are sent `aws-chunked` with a trailing CRC32 by default:
    // Ceph 16 answers MissingContentLength, Swift NotImplemented, older MinIO fails too. Checksums
    // only where the API demands one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (options.endpoint !== undefined) config.endpoint = endpointUrl(options.endpoint, options.secure ?? true);
  if (options.accessKey !== undefined && options.secretKey !== undefined) {
    config.credentials = { accessKeyId: options.accessKey, secretAccessKey: options.secretKey };
  }
  config.requestHandler = {
    connectionTimeout: CONNECT_TIMEOUT_MS,
    requestTimeout: IDLE_TIMEOUT_MS,
    ...(options.skipVerify
      ? { httpsAgent: new HttpsAgent({ keepAlive: true, rejectUnauthorized: false }) }
      : {}),
  };
  const client = new S3Client(config);
  // DeleteObjects must carry a checksum; newer SDKs send a CRC32 header, which Swift's s3api does
  // not accept: it insists on Content-MD5. Every dialect accepts Content-MD5, so always add it.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      if (
        context.commandName === 'DeleteObjectsCommand' &&
        request.headers &&
        typeof request.body === 'string'
      ) {
        request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'berthDeleteObjectsContentMd5' },
  );
  return client;
}

interface SdkError {
  name?: unknown;
  Code?: unknown;
  $metadata?: { httpStatusCode?: number };
}

function status(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as SdkError).$metadata?.httpStatusCode : undefined;
}

/** The S3 error code (`NoSuchKey`, `PreconditionFailed`, ...), when the SDK parsed one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { name, Code } = err as SdkError;
  if (typeof Code === 'string') return Code;
  return typeof name === 'string' ? name : undefined;
}

/** Nothing at the key (GET: NoSuchKey; HEAD has no body, so only its 404 status says so). */
export function isMissingKey(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'NoSuchKey' || code === 'NotFound' || (status(err) === 404 && code !== 'NoSuchBucket');
}

/** A conditional write (`If-None-Match: *`) found the key taken. */
export function isPreconditionFailed(err: unknown): boolean {
  return errorCode(err) === 'PreconditionFailed' || status(err) === 412;
}

/**
 * Two conditional writes of one key raced (AWS answers 409 ConditionalRequestConflict to the
 * loser while the winner is in flight): the loser may retry and then sees 412.
 */
export function isConditionalConflict(err: unknown): boolean {
  return errorCode(err) === 'ConditionalRequestConflict' || status(err) === 409;
}

/** The store refuses writes for lack of space (RGW and MinIO user or bucket quotas). */
export function isQuotaExceeded(err: unknown): boolean {
  const code = errorCode(err);
  return (
    code === 'QuotaExceeded' || code === 'XMinioStorageFull' || code === 'XMinioAdminBucketQuotaExceeded'
  );
}
