/**
 * Berth as a fleet for the scale-out tests: N `berth serve` replicas on one S3 bucket (Ceph RGW)
 * and one PostgreSQL schema, behind the round-robin proxy. Each cluster gets a fresh bucket and
 * a fresh schema, removed at `stop()`. Engines from test/support/services.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/storage/s3/client.js';
import { dropSchemas, freshSchemaName } from './postgres.js';
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin-proxy.js';
import { startBerth, type RunningServer } from './server.js';
import type { S3Service } from './services.js';

export interface ClusterStore {
  s3: S3Service;
  postgresUrl: string;
  bucket: string;
  schema: string;
}

export interface Cluster {
  store: ClusterStore;
  replicas: RunningServer[];
  proxy: RoundRobinProxy;
  /** The proxy's URL. */
  url: string;
  host: string;
  /** A replica's config (as `startReplica` uses it), for a `berth gc` run or a restart. */
  config: Record<string, unknown>;
  /** Starts one more replica on the same store (not behind the proxy until `setBackends`). */
  startReplica(): Promise<RunningServer>;
  /** Every key in the bucket. */
  keys(): Promise<string[]>;
  /** Stops replicas and proxy; `keepStore` leaves bucket and schema (a restart). */
  stop(options?: { keepStore?: boolean }): Promise<void>;
}

export interface ClusterOptions {
  replicas?: number;
  /** Extra config merged over the store settings (http, extensions, storage keys). */
  config?: Record<string, unknown>;
  /** Reuse a store (a restart); a fresh bucket and schema otherwise. */
  store?: ClusterStore;
  /** Listen on this port (a restart keeps the Locations clients hold valid). */
  port?: number;
  /** Environment of every replica (e.g. a shared BERTH_TOKEN_SECRET). */
  env?: NodeJS.ProcessEnv;
  /** Another build's `dist/src/cli/main.js` for every replica (see StartOptions). */
  cli?: string;
}

function s3Client(s3: S3Service): S3Client {
  return createS3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    secure: false,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
  });
}

export async function freshStore(s3: S3Service, postgresUrl: string): Promise<ClusterStore> {
  const bucket = `berth-${randomBytes(6).toString('hex')}`;
  const client = s3Client(s3);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return { s3, postgresUrl, bucket, schema: freshSchemaName() };
}

export async function listKeys(store: ClusterStore): Promise<string[]> {
  const client = s3Client(store.s3);
  const keys: string[] = [];
  try {
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: store.bucket, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.NextContinuationToken;
    } while (token);
  } finally {
    client.destroy();
  }
  return keys;
}

export async function removeStore(store: ClusterStore): Promise<void> {
  const client = s3Client(store.s3);
  try {
    for (;;) {
      const page = await client.send(new ListObjectsV2Command({ Bucket: store.bucket }));
      const objects = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (objects.length === 0) break;
      await client.send(new DeleteObjectsCommand({ Bucket: store.bucket, Delete: { Objects: objects } }));
    }
    await client.send(new DeleteBucketCommand({ Bucket: store.bucket }));
  } catch {
    // Best effort: a test bucket left behind costs a little disk in the test engine.
  } finally {
    client.destroy();
  }
  await dropSchemas(store.postgresUrl, [store.schema]);
}

/** The zot-format config of a replica on `store`, with `extra` merged in. */
export function replicaConfig(
  store: ClusterStore,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const endpoint = new URL(store.s3.endpoint);
  const storage = {
    remoteCache: true,
    cacheDriver: { name: 'postgres', url: store.postgresUrl, schema: store.schema },
    storageDriver: {
      name: 's3',
      region: store.s3.region,
      regionendpoint: endpoint.origin,
      bucket: store.bucket,
      rootdirectory: '/berth',
      forcepathstyle: true,
      secure: endpoint.protocol === 'https:',
      accesskey: store.s3.accessKey,
      secretkey: store.s3.secretKey,
    },
    ...(extra.storage as Record<string, unknown> | undefined),
  };
  return { ...extra, storage };
}

/** Starts `replicas` (default 3) replicas at once on one store, and the proxy in front of them. */
export async function startCluster(
  s3: S3Service,
  postgresUrl: string,
  options: ClusterOptions = {},
): Promise<Cluster> {
  const store = options.store ?? (await freshStore(s3, postgresUrl));
  const config = replicaConfig(store, options.config);
  // Local state only (readiness probe); each replica its own, as on separate machines.
  const roots: string[] = [];
  const startReplica = async (): Promise<RunningServer> => {
    const root = await mkdtemp(path.join(tmpdir(), 'berth-replica-'));
    roots.push(root);
    return startBerth({
      config,
      root,
      cleanup: false,
      ...(options.env ? { env: options.env } : {}),
      ...(options.cli ? { cli: options.cli } : {}),
    });
  };
  const started = await Promise.allSettled(
    Array.from({ length: options.replicas ?? 3 }, () => startReplica()),
  );
  const replicas = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    for (const r of replicas) await r.stop();
    throw failed.reason;
  }
  const proxy = await startRoundRobinProxy(
    replicas.map((r) => r.url),
    options.port,
  );
  return {
    store,
    replicas,
    proxy,
    url: proxy.url,
    host: proxy.host,
    config,
    startReplica,
    keys: () => listKeys(store),
    stop: async ({ keepStore = false } = {}) => {
      await proxy.close();
      await Promise.all(replicas.map((r) => r.stop()));
      for (const root of roots) {
        await rm(root, { recursive: true, force: true });
        await rm(`${root}.config.json`, { force: true });
      }
      if (!keepStore) await removeStore(store);
    },
  };
}
