/**
 * `berth verify --online`: beyond the file's static checks, whether what the configuration points
 * at answers and takes writes, before a server is started on it:
 * - storage: a probe object written, read back and removed through the storage driver the
 *   configuration names (S3: under `rootdirectory` in the bucket; filesystem: in `rootDirectory`);
 * - metadata: PostgreSQL connected and a write transaction (rolled back), or the SQLite file
 *   opened and its write lock taken (rolled back).
 * Each check reports one line; a failure names the configuration key to look at.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { metadataLocation } from '../config/metadata-location.js';
import { POSTGRES_URL_ENV } from '../config/schema/postgres.js';
import { errorCode } from '../storage/s3/client.js';
import { MetadataProbeError, probePostgres, probeSqlite } from '../meta/probe.js';
import { configuredStorageDriver } from '../open-registry.js';
import { META_DIR } from '../registry/layout.js';
import { pino } from 'pino';

export interface OnlineFinding {
  check: 'storage' | 'metadata';
  ok: boolean;
  /** The configuration key a failure is about. */
  key?: string;
  message: string;
}

/** What S3's error codes mean for the person reading. */
const S3_EXPLANATIONS: Record<string, string> = {
  NoSuchBucket: 'the bucket does not exist',
  AccessDenied: 'access denied: these keys may not write to the bucket',
  InvalidAccessKeyId: 'the access key is unknown to the store',
  SignatureDoesNotMatch: 'the secret key does not match the access key',
};

function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const s3Code = errorCode(err);
  const code = s3Code === undefined || s3Code === 'Error' || s3Code === 'UnknownError' ? undefined : s3Code;
  const own = (err as { code?: unknown }).code;
  const explained = code === undefined ? undefined : S3_EXPLANATIONS[code];
  const message =
    err.message === '' || err.message === 'UnknownError' ? (explained ?? code ?? 'failed') : err.message;
  const cause = err.cause instanceof Error && err.cause.message !== message ? `: ${err.cause.message}` : '';
  const tag = code ?? (typeof own === 'string' ? own : undefined);
  return `${message}${cause}${tag !== undefined && !message.includes(tag) ? ` (${tag})` : ''}`;
}

/** Which `storageDriver` key an S3 failure points at. */
function s3Key(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const text = [errorCode(err), typeof code === 'string' ? code : '', (err as Error).message].join(' ');
  if (/NoSuchBucket|AccessDenied|AllAccessDisabled/.test(text)) return 'storage.storageDriver.bucket';
  if (/SignatureDoesNotMatch/.test(text)) return 'storage.storageDriver.secretkey';
  if (/InvalidAccessKeyId|InvalidToken|CredentialsProviderError|credentials/i.test(text))
    return 'storage.storageDriver.accesskey';
  if (
    /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|TimeoutError|socket|certificate/i.test(
      text,
    )
  )
    return 'storage.storageDriver.regionendpoint';
  return 'storage.storageDriver';
}

/** The first folder on the way to `dir` that does not exist, if any (to remove what the probe made). */
function firstMissing(dir: string): string | undefined {
  let missing: string | undefined;
  for (let at = path.resolve(dir); !existsSync(at); at = path.dirname(at)) {
    missing = at;
    if (path.dirname(at) === at) break;
  }
  return missing;
}

export async function checkStorage(config: Config): Promise<OnlineFinding> {
  const remote = config.storage.storageDriver;
  const text = (key: string): string => {
    const value = remote?.[key];
    return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
  };
  const where =
    remote === undefined
      ? `filesystem ${path.resolve(config.storage.rootDirectory)}`
      : `${text('name')} bucket ${text('bucket')}` +
        (text('rootdirectory') ? ` under ${text('rootdirectory')}` : '') +
        (text('regionendpoint') ? ` at ${text('regionendpoint')}` : '');
  const key = remote === undefined ? 'storage.rootDirectory' : undefined;
  const created = remote === undefined ? firstMissing(config.storage.rootDirectory) : undefined;
  const probe = `${META_DIR}/verify-probe-${randomUUID()}`;
  const content = Buffer.from(`berth verify --online ${new Date().toISOString()}\n`);
  let wrote = false;
  try {
    const driver = configuredStorageDriver(config);
    await driver.putContent(probe, content);
    wrote = true;
    const back = await driver.getContent(probe);
    if (!back.equals(content)) throw new Error('the probe read back differs from what was written');
    await driver.delete(probe);
    wrote = false;
    return {
      check: 'storage',
      ok: true,
      message: `${where}: wrote, read back and removed ${probe}${created ? ` (${created} does not exist yet; Berth creates it)` : ''}`,
    };
  } catch (err) {
    return {
      check: 'storage',
      ok: false,
      key: key ?? s3Key(err),
      message: `${where}: ${wrote ? 'wrote a probe, then' : 'cannot write a probe:'} ${reason(err)}`,
    };
  } finally {
    if (created) await rm(created, { recursive: true, force: true }).catch(() => undefined);
  }
}

export async function checkMetadata(config: Config): Promise<OnlineFinding> {
  let location;
  try {
    location = metadataLocation(config, pino({ level: 'silent' }));
  } catch (err) {
    return { check: 'metadata', ok: false, key: 'storage.cacheDriver.url', message: (err as Error).message };
  }
  try {
    if (location.kind === 'sqlite')
      return { check: 'metadata', ok: true, message: probeSqlite(location.file) };
    return { check: 'metadata', ok: true, message: await probePostgres(location.url, location.schema) };
  } catch (err) {
    const part = err instanceof MetadataProbeError ? err.part : 'connection';
    const key =
      part === 'file'
        ? 'storage.rootDirectory'
        : part === 'schema'
          ? 'storage.cacheDriver.schema'
          : config.storage.cacheDriver?.['url'] === undefined
            ? POSTGRES_URL_ENV
            : 'storage.cacheDriver.url';
    return { check: 'metadata', ok: false, key, message: (err as Error).message };
  }
}

export async function onlineChecks(config: Config): Promise<OnlineFinding[]> {
  return [await checkStorage(config), await checkMetadata(config)];
}
