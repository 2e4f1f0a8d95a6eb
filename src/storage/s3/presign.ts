/**
 * Presigned S3 URLs (AWS Signature Version 4, query-string form) so that a registry can redirect a
 * blob GET straight to the object store (`storage.redirectBlobURL`). Written here over node:crypto
 * because the SDK's presigner is a separate package. A URL is signed for one method: a HEAD on a
 * URL presigned for GET is refused (403) by AWS and Ceph alike, so presign HEAD separately.
 */
import { createHash, createHmac } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

export interface PresignRequest {
  method: 'GET' | 'HEAD';
  /** Scheme, host and port of the store, e.g. `https://s3.eu-west-1.amazonaws.com`. */
  endpoint: URL;
  bucket: string;
  key: string;
  /** Bucket in the path (`endpoint/bucket/key`) rather than the host name (`bucket.endpoint/key`). */
  pathStyle: boolean;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined };
  /** Validity in seconds, 1 to 604,800 (7 days, SigV4's maximum). */
  expiresIn: number;
  now?: Date;
}

/** RFC 3986 encoding as SigV4 wants it (`encodeURIComponent` leaves `!'()*` alone). */
function encode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

export function presignUrl(request: PresignRequest): string {
  if (!Number.isInteger(request.expiresIn) || request.expiresIn < 1 || request.expiresIn > 604_800) {
    throw new RangeError(`expiresIn must be 1..604800 seconds, got ${request.expiresIn}`);
  }
  const now = request.now ?? new Date();
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${request.region}/s3/aws4_request`;
  const encodedKey = request.key.split('/').map(encode).join('/');
  const basePath = request.endpoint.pathname.replace(/\/+$/, '');
  const host = request.pathStyle ? request.endpoint.host : `${request.bucket}.${request.endpoint.host}`;
  const path = request.pathStyle
    ? `${basePath}/${encode(request.bucket)}/${encodedKey}`
    : `${basePath}/${encodedKey}`;
  const query: [string, string][] = [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${request.credentials.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(request.expiresIn)],
    ['X-Amz-SignedHeaders', 'host'],
  ];
  if (request.credentials.sessionToken)
    query.push(['X-Amz-Security-Token', request.credentials.sessionToken]);
  const canonicalQuery = query
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .sort()
    .join('&');
  const canonicalRequest = [
    request.method,
    path,
    canonicalQuery,
    `host:${host}\n`,
    'host',
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${request.credentials.secretAccessKey}`, day), request.region), 's3'),
    'aws4_request',
  );
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  return `${request.endpoint.protocol}//${host}${path}?${canonicalQuery}&X-Amz-Signature=${signature}`;
}

/**
 * `presignUrl` for an object the SDK client reaches: its endpoint (or AWS's regional one), region,
 * addressing style and current credentials. Does not check that the object exists.
 */
export async function presignForClient(
  client: S3Client,
  bucket: string,
  key: string,
  options: { method?: 'GET' | 'HEAD'; expiresIn?: number } = {},
): Promise<string> {
  const config = client.config;
  const region = await config.region();
  const endpoint = config.endpoint ? await config.endpoint() : undefined;
  const base = endpoint
    ? new URL(
        `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.path}`,
      )
    : new URL(`https://s3.${region}.amazonaws.com`);
  return presignUrl({
    method: options.method ?? 'GET',
    endpoint: base,
    bucket,
    key,
    pathStyle: config.forcePathStyle ?? false,
    region,
    credentials: await config.credentials(),
    expiresIn: options.expiresIn ?? 900,
  });
}
