/**
 * What is measured: each scenario turns a registry and its prepared fixture into an operation the
 * load generator repeats. The fixture (an image, a large blob, the catalog's repositories) is
 * pushed to every registry before any measurement.
 */
import {
  imageConfig,
  imageManifest,
  MANIFEST_MEDIA_TYPE,
  smallImage,
  type LargeBlob,
  type LargeBlobFamily,
  type SmallImage,
} from './content.js';
import { HttpClient } from './http-client.js';
import { encodeRequest, type RawPool } from './raw-client.js';
import { runConcurrent, type Operation } from './measure.js';
import type { BenchOptions } from './options.js';
import { getBlob, pushBlob, pushSmallImage, putManifest, walkCatalogRaw } from './registry-ops.js';
import type { Registry } from './servers.js';

export interface Fixture {
  repo: string;
  tag: string;
  image: SmallImage;
  large: LargeBlob;
  catalogRepos: number;
}

export interface RunContext {
  registry: Registry;
  client: HttpClient;
  /** Raw keep-alive connections, one per worker, for the small read scenarios. */
  raw: RawPool;
  fixture: Fixture;
  concurrency: number;
  /** Which of `--rounds` this is, from 0: pushes of each round go to fresh repositories. */
  round: number;
  options: BenchOptions;
  family: LargeBlobFamily;
}

export interface Scenario {
  id: string;
  title: string;
  /** Operations measured at a concurrency level. */
  ops(options: BenchOptions, concurrency: number): number;
  /** Unmeasured operations run first, to open connections and warm caches. */
  warmup(options: BenchOptions, concurrency: number): number;
  operation(ctx: RunContext): Operation;
}

const FIXTURE_REPO = 'bench/fixture';

/** Pushes the fixture every scenario reads, and the repositories the catalog walks count. */
export async function prepareFixture(
  registry: Registry,
  options: BenchOptions,
  family: LargeBlobFamily,
): Promise<Fixture> {
  const client = new HttpClient(registry.url, 16);
  try {
    const image = smallImage(options.layerBytes, `${registry.name}-fixture`);
    await pushSmallImage(client, FIXTURE_REPO, 'small', image);

    const large = family.blob(`${registry.name}-fixture`);
    await pushBlob(client, FIXTURE_REPO, large);
    const largeConfig = imageConfig([large], `${registry.name}-fixture-large`);
    await pushBlob(client, FIXTURE_REPO, largeConfig);
    await putManifest(client, FIXTURE_REPO, 'large', imageManifest(largeConfig, [large]));

    const catalogImage = smallImage(options.layerBytes, `${registry.name}-catalog`);
    const width = String(Math.max(1, options.catalogRepos - 1)).length;
    const stats = await runConcurrent(options.catalogRepos, 16, async (i) => {
      await pushSmallImage(client, `bench/catalog/r${String(i).padStart(width, '0')}`, 'v1', catalogImage);
      return 0;
    });
    if (stats.errors > 0) throw new Error(`creating catalog repositories: ${stats.firstError}`);
    return { repo: FIXTURE_REPO, tag: 'small', image, large, catalogRepos: options.catalogRepos };
  } finally {
    client.close();
  }
}

const atLeastConcurrency = (n: number, concurrency: number): number => Math.max(n, concurrency);

function catalogWalk(pageSize: (o: BenchOptions) => number | undefined): Scenario['operation'] {
  return ({ raw, fixture, options }) =>
    async (_index, worker) => {
      const walk = await walkCatalogRaw(raw.connection(worker), raw.host, pageSize(options));
      // The fixture repository and those of earlier runs may add to the count, never take from it.
      if (walk.repositories < fixture.catalogRepos) {
        throw new Error(
          `catalog walk saw ${walk.repositories} repositories, expected ${fixture.catalogRepos}+`,
        );
      }
      return walk.bytes;
    };
}

/** In the order they run: catalogs first, while the registries hold only the fixture. */
export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'catalog-paged',
    title: '_catalog walk, n=100 + Link',
    ops: (o, c) => atLeastConcurrency(o.catalogWalks, c),
    // Unmeasured walks first (200 pages): the scenario runs first on fresh servers, and with one
    // warm-up walk Berth's measured walks ran on code the JIT was still optimising.
    warmup: (_o, c) => Math.max(50, c),
    operation: catalogWalk((o) => o.catalogPageSize),
  },
  {
    id: 'catalog-full',
    title: '_catalog walk, no n',
    ops: (o, c) => atLeastConcurrency(o.catalogWalks, c),
    // Unmeasured walks first (200 pages): the scenario runs first on fresh servers, and with one
    // warm-up walk Berth's measured walks ran on code the JIT was still optimising.
    warmup: (_o, c) => Math.max(50, c),
    operation: catalogWalk(() => undefined),
  },
  {
    id: 'manifest-get',
    title: 'manifest GET by tag',
    ops: (o) => o.smallOps,
    warmup: (o, c) => Math.min(o.smallOps, Math.max(200, c * 10)),
    operation: ({ raw, fixture }) => {
      const request = encodeRequest('GET', raw.host, `/v2/${fixture.repo}/manifests/${fixture.tag}`, {
        Accept: MANIFEST_MEDIA_TYPE,
      });
      return async (_index, worker) => {
        const reply = await raw.connection(worker).request(request, false);
        if (reply.status !== 200 || reply.bytes !== fixture.image.manifest.length) {
          throw new Error(`manifest GET: ${reply.status}, ${reply.bytes} bytes`);
        }
        return reply.bytes;
      };
    },
  },
  {
    id: 'blob-head',
    title: 'blob HEAD',
    ops: (o) => o.smallOps,
    warmup: (o, c) => Math.min(o.smallOps, Math.max(200, c * 10)),
    operation: ({ raw, fixture }) => {
      const layer = fixture.image.layer;
      const request = encodeRequest('HEAD', raw.host, `/v2/${fixture.repo}/blobs/${layer.digest}`);
      const length = `\r\ncontent-length: ${layer.size}\r\n`;
      return async (_index, worker) => {
        const reply = await raw.connection(worker).request(request, true);
        if (reply.status !== 200 || !`${reply.head}\r\n`.includes(length)) {
          throw new Error(`blob HEAD: ${reply.status}, ${reply.head.split('\r\n').join(' | ')}`);
        }
        return 0;
      };
    },
  },
  {
    id: 'blob-get-large',
    title: 'blob GET, large',
    ops: (o, c) => atLeastConcurrency(o.largeOps, c),
    warmup: () => 1,
    operation:
      ({ client, fixture }) =>
      () =>
        getBlob(client, fixture.repo, fixture.large),
  },
  {
    id: 'push-small',
    title: 'push image, 1 KiB layer',
    ops: (o) => o.pushOps,
    warmup: (o, c) => Math.min(o.pushOps, Math.max(20, c * 2)),
    operation:
      ({ client, registry, concurrency, round, options }) =>
      async (index, worker) => {
        const image = smallImage(options.layerBytes, `${registry.name}-c${concurrency}-${index}`);
        // Fresh repositories per round, so that every round starts from the same state.
        const prefix = `bench/push-small/r${round}-c${concurrency}`;
        const repo = options.sameRepo ? prefix : `${prefix}-w${worker}`;
        await pushSmallImage(client, repo, `t${index}`, image);
        return image.layer.size + image.config.size + image.manifest.length;
      },
  },
  {
    id: 'push-large',
    title: 'push layer, large',
    ops: (o, c) => atLeastConcurrency(o.largeOps, c),
    warmup: () => 0,
    operation:
      ({ client, registry, concurrency, family }) =>
      async (index) => {
        const blob = family.blob(`${registry.name}-c${concurrency}-${index}`);
        await pushBlob(client, 'bench/push-large', blob);
        return blob.size;
      },
  },
];
