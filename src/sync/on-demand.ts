/**
 * The pull-through cache: manifests and blobs under a mirrored destination are fetched from
 * upstream the first time a client asks for them, stored, and served from storage afterwards.
 * Berth does better than zot here (zot-behavior §5.9), within the same config:
 *
 * - Only what the client asks for: the manifest or index it names, then the child manifests and
 *   blobs it goes on to request. Nothing is fetched from a blob request alone unless a cached
 *   manifest of the repository references that blob.
 * - Blobs stream to the client while they are stored (see spool.ts); concurrent requests for one
 *   manifest or blob make one upstream request (single flight).
 * - A cached tag is served without asking upstream for `manifestCheckInterval`; after that a HEAD
 *   compares digests (Docker Hub does not count HEADs against its pull limit) and only a moved tag
 *   is downloaded again. Digest references are immutable: a cached digest never contacts upstream.
 * - When the upstream cannot be asked (down, stalled, 429) the cached copy is served and the
 *   event logged; with nothing cached the client gets a clear error at once (502/504/429), and an
 *   unknown image is 404 MANIFEST_UNKNOWN.
 * - Upstream bytes are stored unchanged, so digests match the upstream's.
 */
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { RequestContext } from '../http/context.js';
import type { RequestRecord } from '../http/server.js';
import type { PullThrough } from '../http/v2/deps.js';
import { parseDigest, type Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { parseReference, type Reference } from '../registry/manifests.js';
import type { Registry } from '../registry/registry.js';
import { LruMap } from '../registry/lru.js';
import type { SyncMetrics } from './metrics.js';
import type { SyncRoute } from './routes.js';
import { SingleFlight } from './single-flight.js';
import type { Coordination } from '../coordination/coordination.js';
import type { BlobSpool } from './spool.js';
import { beginDownload, type BlobDownload } from './blob-download.js';
import { moreSpecific, UpstreamError, type UpstreamBlob } from './upstream.js';
import { errorText } from '../util/error-text.js';

/** A local repository as one upstream sees it. */
interface Target {
  route: SyncRoute;
  upstreamRepo: string;
}

export interface OnDemandOptions {
  registry: Registry;
  log: Logger;
  metrics: SyncMetrics;
  /** The routes with `onDemand`, in config order. */
  routes: readonly SyncRoute[];
  /** Local folder for blobs in transit. */
  spoolDir: string;
  /** Cross-process single flight: one process fetches an upstream manifest, the others then find it stored. */
  coordination?: Coordination;
  /**
   * `spoolDir` as a storage path, when it lies inside a filesystem storage: a verified download
   * is then renamed into place instead of copied (one write, one hash per byte).
   */
  spoolStoragePath?: string;
  now?: () => number;
}

export class OnDemandCache implements PullThrough {
  private readonly registry: Registry;
  private readonly log: Logger;
  private readonly metrics: SyncMetrics;
  private readonly routes: readonly SyncRoute[];
  private readonly spoolDir: string;
  private readonly spoolStoragePath: string | undefined;
  private readonly now: () => number;
  private readonly manifestFlights = new SingleFlight<void>();
  private readonly downloads = new Map<string, Promise<BlobDownload | undefined>>();
  private readonly active = new Set<BlobDownload>();
  /**
   * When each `repo:tag` was last confirmed against upstream, and the digest confirmed: a tag that
   * now points elsewhere (a local push) is not fresh, so a local image never masks the upstream's.
   */
  private readonly checkedAt = new LruMap<string, { at: number; digest: string }>(100_000);
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  /** Blob GETs answered from upstream and not yet seen finished, per repository (for hit counting). */
  private readonly missesInFlight = new Map<string, number>();
  private stopped = false;

  private readonly coordination: Coordination | undefined;

  constructor(options: OnDemandOptions) {
    this.coordination = options.coordination;
    this.registry = options.registry;
    this.log = options.log;
    this.metrics = options.metrics;
    this.routes = options.routes;
    this.spoolDir = options.spoolDir;
    this.spoolStoragePath = options.spoolStoragePath;
    this.now = options.now ?? Date.now;
  }

  /** Whether `repo` lies under one of this cache's destinations (pushes there need `update`). */
  covers(repo: string): boolean {
    return this.targets(repo).length > 0;
  }

  /** Every upstream a local repository maps to, in config order (the first rule of each registry that matches). */
  targets(repo: string): Target[] {
    const targets: Target[] = [];
    for (const route of this.routes) {
      for (const rule of route.rules) {
        const upstreamRepo = rule.localToUpstream(repo);
        if (upstreamRepo !== undefined) {
          targets.push({ route, upstreamRepo });
          break;
        }
      }
    }
    return targets;
  }

  async ensureManifest(ctx: RequestContext, repo: string, reference: string): Promise<void> {
    const targets = this.targets(repo);
    const first = targets[0];
    if (!first) return;
    const ref = parseReference(reference);
    const manifests = this.registry.manifests;
    const upstream = first.route.upstream.name;
    if (ref.kind === 'digest') {
      if (await manifests.resolve(repo, ref)) {
        this.metrics.hit(upstream, 'manifest');
        return;
      }
      try {
        await this.flight(`${repo}@${ref.digest.value}`, () =>
          this.fetchByDigest(ctx.log, targets, repo, ref.digest),
        );
      } catch (err) {
        if (await manifests.resolve(repo, ref)) return;
        throw this.clientError(err, 'MANIFEST_UNKNOWN', repo, reference);
      }
      return;
    }
    const key = `${repo}:${ref.tag}`;
    const cached = await manifests.resolve(repo, ref);
    if (cached && this.isFresh(key, first.route, cached.digest)) {
      this.metrics.hit(upstream, 'manifest');
      return;
    }
    try {
      await this.flight(key, () => this.refreshTag(ctx.log, targets, repo, ref.tag));
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      const stale = await manifests.resolve(repo, ref);
      if (stale) {
        if (err.kind === 'not-found') {
          // Tags deleted upstream stay served from the cache, as in zot.
          this.checkedAt.set(key, { at: this.now(), digest: stale.digest });
          ctx.log.info(
            { repo, tag: ref.tag, upstream: err.upstream, reason: err.message },
            'tag gone upstream: serving the cached copy',
          );
        } else {
          ctx.log.warn(
            { repo, tag: ref.tag, upstream: err.upstream, reason: err.message },
            'upstream unavailable: serving the cached copy',
          );
        }
        this.metrics.staleServed(err.upstream);
        return;
      }
      this.retryLater(key, first.route, () => this.refreshTag(this.log, targets, repo, ref.tag));
      throw this.clientError(err, 'MANIFEST_UNKNOWN', repo, reference);
    }
  }

  async serveBlob(ctx: RequestContext, repo: string, digestText: string): Promise<boolean> {
    const targets = this.targets(repo);
    if (targets.length === 0) return false;
    // Only blobs of manifests this repository holds: a blob request alone never causes upstream traffic.
    if ((await this.registry.index.referencedBy(repo, digestText)).length === 0) return false;
    const digest = parseDigest(digestText);
    const key = `${repo}@${digest.value}`;
    let pending = this.downloads.get(key);
    if (!pending) {
      if (ctx.req.method === 'HEAD') return this.headFromUpstream(ctx, targets, repo, digest);
      // Registered before the first await, so concurrent requests find it.
      pending = this.startDownload(ctx.log, targets, repo, digest, key);
      this.downloads.set(key, pending);
    }
    let download: BlobDownload | undefined;
    try {
      download = await pending;
    } catch (err) {
      if (err instanceof UpstreamError && err.kind === 'not-found') return false;
      throw this.clientError(err, 'BLOB_UNKNOWN', repo, digest.value);
    }
    // Stored since the caller looked (or just now, and the spool is gone): the local copy answers.
    if (!download || download.spool.removed) return false;
    const headers: Record<string, string | number> = {
      'Docker-Content-Digest': digest.value,
      'Content-Type': 'application/octet-stream',
      ETag: `"${digest.value}"`,
      'Cache-Control': 'max-age=31536000',
    };
    if (download.spool.size !== undefined) headers['Content-Length'] = download.spool.size;
    if (ctx.req.method === 'HEAD') {
      ctx.res.writeHead(200, headers);
      ctx.res.end();
      return true;
    }
    // Ranges are not served from a download in progress: the whole blob answers (the spec allows it).
    const body = download.spool.reader();
    this.missesInFlight.set(repo, (this.missesInFlight.get(repo) ?? 0) + 1);
    ctx.res.writeHead(200, headers);
    await pipeline(body, ctx.res);
    return true;
  }

  /**
   * Counts blob hits from finished requests: blobs the cache holds are served by the HTTP layer
   * without asking this extension, so a blob GET under a mirrored path that this extension did
   * not answer from upstream was a hit.
   */
  observe(record: RequestRecord): void {
    if (record.route !== 'blob' || record.method !== 'GET' || record.repo === undefined) return;
    const misses = this.missesInFlight.get(record.repo);
    if (misses !== undefined) {
      if (misses <= 1) this.missesInFlight.delete(record.repo);
      else this.missesInFlight.set(record.repo, misses - 1);
      return;
    }
    if (record.status !== 200 && record.status !== 206) return;
    const first = this.targets(record.repo)[0];
    if (first) this.metrics.hit(first.route.upstream.name, 'blob');
  }

  /** Stops retries, cuts downloads in progress, and waits for them to let go of storage. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    for (const download of this.active) download.abort(new Error('Berth is shutting down'));
    await Promise.allSettled([...[...this.active].map((d) => d.done), ...this.manifestFlights.pending()]);
  }

  private isFresh(key: string, route: SyncRoute, currentDigest: string): boolean {
    if (route.freshnessMs <= 0) return false;
    const checked = this.checkedAt.get(key);
    return (
      checked !== undefined && checked.digest === currentDigest && this.now() - checked.at < route.freshnessMs
    );
  }

  /**
   * Brings `repo:tag` up to date with the first upstream that has it: a HEAD when the tag is
   * cached (nothing else when the digest is unchanged), a GET of the manifest otherwise.
   */
  private async refreshTag(log: Logger, targets: Target[], repo: string, tag: string): Promise<void> {
    const manifests = this.registry.manifests;
    let failure: UpstreamError | undefined;
    for (const { route, upstreamRepo } of targets) {
      const upstream = route.upstream;
      const cached = await manifests.resolve(repo, { kind: 'tag', tag });
      try {
        let digest: string | undefined;
        if (cached) {
          digest = (await upstream.headManifest(upstreamRepo, tag)).digest;
          if (digest === cached.digest) {
            this.checkedAt.set(`${repo}:${tag}`, { at: this.now(), digest });
            this.metrics.hit(upstream.name, 'manifest');
            log.debug({ repo, tag, digest, upstream: upstream.name }, 'cached tag still current upstream');
            return;
          }
        }
        // A tag that moved to content this repository already holds needs no download.
        const known =
          digest === undefined
            ? undefined
            : await manifests.resolve(repo, { kind: 'digest', digest: parseDigest(digest) });
        let bytes: Buffer;
        let mediaType: string;
        if (known) {
          bytes = await manifests.read(repo, known);
          mediaType = known.mediaType;
        } else {
          const fetched = await upstream.getManifest(upstreamRepo, digest ?? tag);
          this.metrics.miss(upstream.name, 'manifest');
          if (fetched.digest === cached?.digest) {
            this.checkedAt.set(`${repo}:${tag}`, { at: this.now(), digest: cached.digest });
            return;
          }
          bytes = fetched.bytes;
          mediaType = fetched.mediaType;
        }
        const stored = await this.store(upstream.name, repo, { kind: 'tag', tag }, bytes, mediaType);
        this.checkedAt.set(`${repo}:${tag}`, { at: this.now(), digest: stored });
        log.info(
          { repo, tag, digest: stored, previous: cached?.digest, upstream: upstream.name, upstreamRepo },
          cached ? 'tag moved upstream: cache updated' : 'manifest cached from upstream',
        );
        return;
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        failure = moreSpecific(failure, err);
      }
    }
    throw failure ?? new Error('no upstream to ask');
  }

  private async fetchByDigest(log: Logger, targets: Target[], repo: string, digest: Digest): Promise<void> {
    let failure: UpstreamError | undefined;
    for (const { route, upstreamRepo } of targets) {
      const upstream = route.upstream;
      try {
        const fetched = await upstream.getManifest(upstreamRepo, digest.value);
        this.metrics.miss(upstream.name, 'manifest');
        await this.store(upstream.name, repo, { kind: 'digest', digest }, fetched.bytes, fetched.mediaType);
        log.info(
          { repo, digest: digest.value, upstream: upstream.name, upstreamRepo },
          'manifest cached from upstream',
        );
        return;
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        failure = moreSpecific(failure, err);
      }
    }
    throw failure ?? new Error('no upstream to ask');
  }

  /** Stores upstream manifest bytes unchanged, before the blobs they reference (fetched when asked for). */
  private async store(
    upstream: string,
    repo: string,
    ref: Reference,
    bytes: Buffer,
    mediaType: string,
  ): Promise<string> {
    try {
      const result = await this.registry.manifests.put(repo, ref, bytes, mediaType, [], {
        verifyReferences: false,
      });
      return result.digest;
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      throw new UpstreamError(
        'bad-response',
        upstream,
        `${upstream} sent a manifest Berth cannot store: ${err.message}`,
        undefined,
        { cause: err },
      );
    }
  }

  private async headFromUpstream(
    ctx: RequestContext,
    targets: Target[],
    repo: string,
    digest: Digest,
  ): Promise<boolean> {
    let failure: UpstreamError | undefined;
    for (const { route, upstreamRepo } of targets) {
      try {
        const size = await route.upstream.headBlob(upstreamRepo, digest.value);
        ctx.res.writeHead(200, {
          'Docker-Content-Digest': digest.value,
          'Content-Type': 'application/octet-stream',
          ...(size === undefined ? {} : { 'Content-Length': size }),
        });
        ctx.res.end();
        return true;
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        failure = moreSpecific(failure, err);
      }
    }
    if (!failure || failure.kind === 'not-found') return false;
    throw this.clientError(failure, 'BLOB_UNKNOWN', repo, digest.value);
  }

  /**
   * Opens the upstream transfer and returns once its bytes start arriving; storing continues in
   * the background whether or not any client keeps reading. Undefined when the blob turned out to
   * be stored already.
   */
  private async startDownload(
    log: Logger,
    targets: Target[],
    repo: string,
    digest: Digest,
    key: string,
  ): Promise<BlobDownload | undefined> {
    try {
      if (await this.registry.blobs.stat(repo, digest)) {
        this.downloads.delete(key);
        return undefined;
      }
      // Another repository may hold it already (`docker.io/nginx` and `docker.io/library/nginx`
      // share every layer): link it rather than download it again.
      for (const holder of await this.registry.index.blobHolders(digest.value)) {
        if (holder !== repo && (await this.registry.blobs.mount(holder, repo, digest))) {
          this.downloads.delete(key);
          log.debug({ repo, digest: digest.value, from: holder }, 'blob linked from another repository');
          return undefined;
        }
      }
      let failure: UpstreamError | undefined;
      let found: { blob: UpstreamBlob; route: SyncRoute } | undefined;
      for (const { route, upstreamRepo } of targets) {
        try {
          found = { blob: await route.upstream.getBlob(upstreamRepo, digest.value), route };
          break;
        } catch (err) {
          if (!(err instanceof UpstreamError)) throw err;
          failure = moreSpecific(failure, err);
        }
      }
      if (!found) throw failure ?? new Error('no upstream to ask');
      const { blob, route } = found;
      const upstream = route.upstream.name;
      this.metrics.miss(upstream, 'blob');
      return await beginDownload({
        log,
        repo,
        digest,
        upstream,
        blob,
        spoolDir: this.spoolDir,
        timeoutMs: route.syncTimeoutMs,
        store: (spool, filled) => this.storeDownload(repo, digest, spool, filled),
        onStart: (started) => this.active.add(started),
        onDone: (finished) => {
          this.downloads.delete(key);
          this.active.delete(finished);
        },
      });
    } catch (err) {
      this.downloads.delete(key);
      throw err;
    }
  }

  /**
   * One fetch per key: callers in this process join the running one; another process's fetch of
   * the same key is waited for (Coordination single flight), after which this one mostly finds the
   * manifest stored or current and does not download it again.
   */
  private flight(key: string, fn: () => Promise<void>): Promise<void> {
    const coordination = this.coordination;
    return this.manifestFlights.run(
      key,
      coordination ? () => coordination.singleFlight(`sync:${key}`, fn) : fn,
    );
  }

  /**
   * Stores a download once its spool is verified: renamed into place when the spool lives in the
   * storage, otherwise read back into a monolithic upload (which hashes the bytes again).
   */
  private async storeDownload(
    repo: string,
    digest: Digest,
    spool: BlobSpool,
    filled: Promise<void>,
  ): Promise<void> {
    const inStorage = this.spoolStoragePath;
    if (inStorage === undefined) {
      await this.registry.uploads.monolithic(repo, digest, spool.reader(), spool.size);
      return;
    }
    await filled;
    await spool.keep((file) =>
      this.registry.blobs.place(repo, digest, `${inStorage}/${path.basename(file)}`, spool.written),
    );
  }

  /** With `maxRetries`, keeps trying a failed fetch in the background so the next pull finds it. */
  private retryLater(key: string, route: SyncRoute, attempt: () => Promise<void>): void {
    const { maxRetries, delayMs, maxDelayMs } = route.retry;
    if (maxRetries <= 0 || this.stopped || this.retryTimers.has(key)) return;
    const schedule = (left: number, delay: number): void => {
      const timer = setTimeout(() => {
        this.retryTimers.delete(key);
        this.flight(key, attempt).then(
          () => this.log.info({ key, upstream: route.upstream.name }, 'background retry succeeded'),
          (err: unknown) => {
            const transient = err instanceof UpstreamError && err.transient;
            this.log.warn(
              { key, upstream: route.upstream.name, left: left - 1, err: errorText(err) },
              'background retry failed',
            );
            if (transient && left > 1 && !this.stopped) schedule(left - 1, Math.min(delay * 2, maxDelayMs));
          },
        );
      }, delay);
      timer.unref();
      this.retryTimers.set(key, timer);
    };
    schedule(maxRetries, delayMs);
  }

  /** What a client gets when nothing is cached and the upstream could not provide it. */
  private clientError(
    err: unknown,
    notFound: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN',
    repo: string,
    reference: string,
  ): unknown {
    if (!(err instanceof UpstreamError)) return err;
    const what = notFound === 'BLOB_UNKNOWN' ? `blob ${reference}` : `manifest ${reference}`;
    switch (err.kind) {
      case 'not-found':
        return new RegistryError(notFound, `${what} unknown to ${repo}: ${err.message}`);
      case 'rate-limited':
        return new RegistryError('TOOMANYREQUESTS', `${err.message}; nothing is cached for ${repo} ${what}`);
      case 'timeout':
        return new RegistryError(
          'UPSTREAM_TIMEOUT',
          `upstream timed out: ${err.message}; nothing is cached for ${repo} ${what}`,
        );
      default:
        return new RegistryError(
          'UPSTREAM_UNAVAILABLE',
          `upstream unavailable: ${err.message}; nothing is cached for ${repo} ${what}`,
        );
    }
  }
}
