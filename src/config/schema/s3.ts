/**
 * `storage.storageDriver` with `name: "s3"`: zot's (Distribution's) S3 driver parameters, lower-cased
 * as zot reads them. Parameters Distribution has and Berth does not use (`encrypt`, `keyid`,
 * `storageclass`, `v4auth`, `multipartcopy*`, ...) are accepted, so a zot config loads unchanged.
 * Serving from S3 needs the PostgreSQL metadata store (refused otherwise: app.ts configRefusals).
 */
import { z } from 'zod';

import { bool, int, str } from './scalars.js';

const MiB = 1024 * 1024;

const s3Params = z.looseObject({
  name: z.literal('s3'),
  /** Signing region. Default: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1 (any for most non-AWS stores). */
  region: str().optional(),
  /** An S3-compatible endpoint: `host[:port]` (scheme from `secure`) or a URL. Absent: AWS. */
  regionendpoint: str().optional(),
  bucket: str().refine((name) => /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/.test(name), {
    message: 'expected a bucket name (letters, digits, ".", "_", "-"; 3 characters or more)',
  }),
  /** Key prefix for everything Berth stores; absent or "/" = the bucket's root. */
  rootdirectory: str().optional(),
  /** Bucket in the URL path instead of the host name. Default: true with `regionendpoint`, else false. */
  forcepathstyle: bool().optional(),
  /** https for an endpoint given without a scheme. */
  secure: bool().default(true),
  /** Accept any TLS certificate from the endpoint (self-signed test stores only). */
  skipverify: bool().default(false),
  /** Static keys; both or neither. Neither: the AWS SDK's default credential chain. */
  accesskey: str().optional(),
  secretkey: str().optional(),
  /** Multipart part size in bytes (Distribution's key), at least 5 MiB; default 10 MiB. */
  chunksize: int(5 * MiB, 5 * 1024 * MiB).optional(),
});

type Problem = { path: (string | number)[]; message: string };

/** Rules across keys, checked even when a key's own value is wrong (zod skips refinements then). */
function crossKeyProblems(params: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  if ((params.accesskey === undefined) !== (params.secretkey === undefined)) {
    problems.push({
      path: [params.accesskey === undefined ? 'accesskey' : 'secretkey'],
      message: 'accesskey and secretkey go together (neither: the AWS default credential chain)',
    });
  }
  const endpoint = params.regionendpoint;
  if (typeof endpoint === 'string') {
    let url: URL | undefined;
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`);
    } catch {
      url = undefined;
    }
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.hostname === '') {
      problems.push({
        path: ['regionendpoint'],
        message: `expected host[:port] or an http(s) URL, got ${JSON.stringify(endpoint)}`,
      });
    }
  }
  return problems;
}

/** The S3 driver's settings, as plain data the storage layer takes (it never imports config). */
export interface S3DriverSettings {
  region: string;
  endpoint: string | undefined;
  bucket: string;
  rootDirectory: string;
  forcePathStyle: boolean;
  secure: boolean;
  skipVerify: boolean;
  accessKey: string | undefined;
  secretKey: string | undefined;
  partSize: number | undefined;
}

/** Problems with an `s3` storageDriver block, each at its key path below the block. */
export function s3DriverProblems(params: Record<string, unknown>): Problem[] {
  const result = s3Params.safeParse(params);
  const own = result.success
    ? []
    : result.error.issues.map((issue) => ({
        path: issue.path.filter((part): part is string | number => typeof part !== 'symbol'),
        message: issue.message,
      }));
  return [...own, ...crossKeyProblems(params)];
}

/** The settings of a validated `s3` storageDriver block (throws on one that is not valid). */
export function s3DriverSettings(
  params: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): S3DriverSettings {
  const p = s3Params.parse(params);
  return {
    region: p.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint: p.regionendpoint,
    bucket: p.bucket,
    rootDirectory: (p.rootdirectory ?? '').replace(/^\/+|\/+$/g, ''),
    forcePathStyle: p.forcepathstyle ?? p.regionendpoint !== undefined,
    secure: p.secure,
    skipVerify: p.skipverify,
    accessKey: p.accesskey,
    secretKey: p.secretkey,
    partSize: p.chunksize,
  };
}
