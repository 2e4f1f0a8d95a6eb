/**
 * Periodic sync (mirroring), zot-behavior §5.8: every `pollInterval`, measured from the end of the
 * previous round, list the upstream catalog, keep the repositories a `content.prefix` matches,
 * list their tags, keep those the rule's tag filters pass, and copy each image whose tag is new or
 * has moved: the whole image (every platform of an index, every blob), so the mirror works with
 * the upstream gone. Incremental: a HEAD per tag, and nothing more when the digest is unchanged;
 * blobs the registry already holds (in any repository) are linked, not downloaded.
 *
 * Transient failures are retried per `maxRetries`/`retryDelay` (doubling up to `maxRetryDelay`);
 * a tag that still fails is logged and the round goes on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { tryParseDigest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { isValidRepositoryName } from '../oci/names.js';
import type { Registry } from '../registry/registry.js';
import type { ContentRule } from './names.js';
import type { SyncRoute } from './routes.js';
import { compileTagFilter } from './tag-filter.js';
import { UpstreamError, type UpstreamManifest } from './upstream.js';
import { errorText } from '../util/error-text.js';

export interface RoundResult {
  repositories: number;
  tags: number;
  copied: number;
  unchanged: number;
  failed: number;
}

export interface PeriodicOptions {
  registry: Registry;
  log: Logger;
  route: SyncRoute;
  /** Interval between the end of one round and the start of the next. */
  pollIntervalMs: number;
}

/** The upstream failure inside an error, when it is one (the upload service wraps body errors). */
function upstreamCause(err: unknown): UpstreamError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof UpstreamError) return e;
  }
  return undefined;
}

export class PeriodicSync {
  private readonly registry: Registry;
  private readonly log: Logger;
  private readonly route: SyncRoute;
  readonly pollIntervalMs: number;
  private readonly filters = new Map<ContentRule, (tag: string) => boolean>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(options: PeriodicOptions) {
    this.registry = options.registry;
    this.route = options.route;
    this.pollIntervalMs = options.pollIntervalMs;
    this.log = options.log.child({
      upstream: options.route.upstream.name,
      registryIndex: options.route.index,
    });
    for (const rule of options.route.rules) this.filters.set(rule, compileTagFilter(rule.tags));
  }

  /** The route's position in the config (names the job). */
  get routeIndex(): number {
    return this.route.index;
  }

  /** Runs the first round now and the next ones `pollInterval` after each ends (without the app's job runner). */
  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.abort.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.running = this.round()
        .catch((err: unknown) => {
          if (!this.abort.signal.aborted)
            this.log.error({ err: errorText(err) }, 'periodic sync round failed');
        })
        .finally(() => {
          this.running = undefined;
          this.schedule(this.pollIntervalMs);
        });
    }, delay);
    this.timer.unref();
  }

  /** One pass over the upstream. */
  async round(): Promise<RoundResult> {
    const started = Date.now();
    const upstream = this.route.upstream;
    const result: RoundResult = { repositories: 0, tags: 0, copied: 0, unchanged: 0, failed: 0 };
    this.log.info('periodic sync round started');
    const repos = await this.withRetries(() => upstream.catalog());
    for (const upstreamRepo of repos) {
      this.abort.signal.throwIfAborted();
      const rule = this.route.rules.find((r) => r.coversUpstream(upstreamRepo));
      if (!rule) continue;
      const localRepo = rule.upstreamToLocal(upstreamRepo);
      if (!isValidRepositoryName(localRepo)) {
        this.log.warn(
          { upstreamRepo, localRepo },
          'periodic sync: not a valid local repository name; skipped',
        );
        continue;
      }
      let tags: string[];
      try {
        tags = await this.withRetries(() => upstream.listTags(upstreamRepo));
      } catch (err) {
        result.failed++;
        this.log.warn({ upstreamRepo, err: errorText(err) }, 'periodic sync: cannot list tags');
        continue;
      }
      const keep = this.filters.get(rule) ?? (() => true);
      result.repositories++;
      for (const tag of tags.filter(keep)) {
        this.abort.signal.throwIfAborted();
        result.tags++;
        try {
          const outcome = await this.withRetries(() => this.mirrorTag(upstreamRepo, localRepo, tag));
          if (outcome === 'copied') result.copied++;
          else result.unchanged++;
        } catch (err) {
          if (this.abort.signal.aborted) throw err;
          result.failed++;
          this.log.warn(
            { upstreamRepo, localRepo, tag, err: errorText(err) },
            'periodic sync: tag not mirrored',
          );
        }
      }
    }
    this.log.info({ ...result, ms: Date.now() - started }, 'periodic sync round finished');
    return result;
  }

  /** Mirrors one tag: nothing when the local tag already has the upstream digest. */
  private async mirrorTag(
    upstreamRepo: string,
    localRepo: string,
    tag: string,
  ): Promise<'copied' | 'unchanged'> {
    const upstream = this.route.upstream;
    const manifests = this.registry.manifests;
    const cached = await manifests.resolve(localRepo, { kind: 'tag', tag });
    const head = await upstream.headManifest(upstreamRepo, tag);
    if (head.digest !== undefined && head.digest === cached?.digest) return 'unchanged';
    const deadline = Date.now() + this.route.syncTimeoutMs;
    const manifest = await upstream.getManifest(upstreamRepo, head.digest ?? tag);
    if (manifest.digest === cached?.digest) return 'unchanged';
    await this.copyReferences(upstreamRepo, localRepo, manifest, deadline);
    await manifests.put(localRepo, { kind: 'tag', tag }, manifest.bytes, manifest.mediaType);
    this.log.info(
      { upstreamRepo, localRepo, tag, digest: manifest.digest, previous: cached?.digest },
      'periodic sync: image mirrored',
    );
    return 'copied';
  }

  /** Copies what a manifest references: child manifests (recursively) and blobs. */
  private async copyReferences(
    upstreamRepo: string,
    localRepo: string,
    manifest: UpstreamManifest,
    deadline: number,
  ): Promise<void> {
    const parsed = parseManifest(manifest.bytes, manifest.mediaType);
    const manifests = this.registry.manifests;
    for (const child of parsed.manifests) {
      const digest = tryParseDigest(child.digest);
      if (!digest || (await manifests.resolve(localRepo, { kind: 'digest', digest }))) continue;
      this.checkBudget(deadline);
      const fetched = await this.route.upstream.getManifest(upstreamRepo, digest.value);
      await this.copyReferences(upstreamRepo, localRepo, fetched, deadline);
      await manifests.put(localRepo, { kind: 'digest', digest }, fetched.bytes, fetched.mediaType);
    }
    for (const blob of parsed.blobs) {
      this.checkBudget(deadline);
      await this.copyBlob(upstreamRepo, localRepo, blob.digest);
    }
  }

  private async copyBlob(upstreamRepo: string, localRepo: string, digestText: string): Promise<void> {
    const digest = tryParseDigest(digestText);
    if (!digest)
      throw new UpstreamError('bad-response', this.route.upstream.name, `unsupported digest ${digestText}`);
    const blobs = this.registry.blobs;
    if (await blobs.stat(localRepo, digest)) return;
    for (const holder of await this.registry.index.blobHolders(digest.value)) {
      if (await blobs.mount(holder, localRepo, digest)) return;
    }
    const blob = await this.route.upstream.getBlob(upstreamRepo, digest.value);
    await this.registry.uploads.monolithic(localRepo, digest, blob.body, blob.size);
  }

  private checkBudget(deadline: number): void {
    if (Date.now() > deadline) {
      throw new UpstreamError(
        'timeout',
        this.route.upstream.name,
        `image copy took longer than syncTimeout (${this.route.syncTimeoutMs} ms)`,
      );
    }
  }

  /** Runs `fn`, retrying transient upstream failures per the route's retry policy. */
  private async withRetries<T>(fn: () => Promise<T>): Promise<T> {
    const { maxRetries, delayMs, maxDelayMs } = this.route.retry;
    let delay = delayMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const upstream = upstreamCause(err);
        if (!upstream?.transient || attempt >= maxRetries || this.abort.signal.aborted) throw err;
        this.log.info(
          { attempt: attempt + 1, of: maxRetries, delayMs: delay, err: upstream.message },
          'periodic sync: retrying',
        );
        await sleep(delay, undefined, { signal: this.abort.signal });
        delay = Math.min(delay * 2, maxDelayMs);
      }
    }
  }
}
