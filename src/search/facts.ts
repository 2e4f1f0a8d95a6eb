/**
 * What search answers need from a manifest's content, derived once per digest through the UI's
 * `ContentReader` (which reads manifests and configs through the registry services) and kept in
 * `search_image_facts`. A manifest whose content cannot be read (an incomplete pull-through copy)
 * gets facts from its index row alone, not stored, so a later read can do better.
 */
import type { ManifestRecord } from '../meta/registry-index.js';
import type { ImageFactsStore } from '../meta/image-facts.js';
import { isIndexMediaType } from '../oci/media-types.js';
import { LruMap } from '../registry/lru.js';
import type { ContentReader } from '../ui/content.js';
import type { Platform } from '../meta/ui-summaries.js';
import type { IndexReads } from './reads.js';

export interface HistoryFact {
  created?: string;
  createdBy?: string;
  comment?: string;
  emptyLayer: boolean;
}

export interface ChildFact {
  digest: string;
  mediaType: string;
  size: number;
  platform?: Platform;
}

export interface ImageFacts {
  mediaType: string;
  /** The manifest's artifactType, else its config's media type (zot's rule). */
  artifactType: string | null;
  configDigest: string | null;
  /** The config's `created`. */
  created: string | null;
  /** Image manifests: the config's platform. Indexes: every child platform. */
  platforms: Platform[];
  /** Manifest, config and layers; for an index, itself plus its children's image sizes. */
  size: number;
  layers: { digest: string; size: number }[];
  history: HistoryFact[];
  annotations: Record<string, string>;
  labels: Record<string, string>;
  /** Indexes: their manifests. */
  children: ChildFact[];
}

/** Bumped when the shape of stored facts changes, so old rows are not misread. */
const FACTS_VERSION = 1;

/**
 * Parsed facts kept in memory, by digest. Facts of a digest never change, so this cache can never
 * disagree with the database or with another process's; it saves a row read and a JSON parse per
 * image on every list (a repository page asks for 100).
 */
const CACHED_DIGESTS = 20_000;

export class FactsReader {
  private readonly store: ImageFactsStore<ImageFacts & { v: number }>;
  private readonly pending = new Map<string, Promise<ImageFacts | undefined>>();
  private readonly cache = new LruMap<string, ImageFacts>(CACHED_DIGESTS);

  constructor(
    store: ImageFactsStore<unknown>,
    private readonly index: IndexReads,
    private readonly content: ContentReader,
  ) {
    this.store = store as ImageFactsStore<ImageFacts & { v: number }>;
  }

  /** The facts of `digest` when they are in memory (answers then need no promise). */
  cached(digest: string): ImageFacts | undefined {
    return this.cache.get(digest);
  }

  /**
   * The facts of manifest `digest` of `repo` (from the store, else from its content); undefined
   * when the repository does not hold that manifest and the facts were never derived.
   */
  facts(repo: string, digest: string): Promise<ImageFacts | undefined> {
    const cached = this.cache.get(digest);
    if (cached) return Promise.resolve(cached);
    const key = `${repo}@${digest}`;
    const running = this.pending.get(key);
    if (running) return running;
    const work = this.load(repo, digest).finally(() => this.pending.delete(key));
    this.pending.set(key, work);
    return work;
  }

  private async load(repo: string, digest: string): Promise<ImageFacts | undefined> {
    const stored = await this.store.get(digest);
    if (stored?.v === FACTS_VERSION) {
      this.cache.set(digest, stored);
      return stored;
    }
    const record = await this.index.manifest(repo, digest);
    if (!record) return undefined;
    let view;
    try {
      view = await this.content.image(repo, record);
    } catch {
      view = undefined;
    }
    if (!view) return fromRecord(record);
    const config = view.config;
    const facts: ImageFacts = {
      mediaType: record.mediaType,
      artifactType:
        view.artifactType ?? (isIndexMediaType(record.mediaType) ? null : (config?.mediaType ?? null)),
      configDigest: config?.digest ?? null,
      created: view.created ?? null,
      platforms: view.platforms,
      size: view.imageSize,
      layers: view.layers.map((l) => ({ digest: l.digest, size: l.size })),
      history: view.history,
      annotations: view.annotations,
      labels: view.labels,
      children: view.manifests.map((c) => ({
        digest: c.digest,
        mediaType: c.mediaType,
        size: c.size,
        ...(c.platform ? { platform: c.platform } : {}),
      })),
    };
    await this.store.put(record.digest, { ...facts, v: FACTS_VERSION });
    this.cache.set(record.digest, facts);
    return facts;
  }
}

function fromRecord(record: ManifestRecord): ImageFacts {
  return {
    mediaType: record.mediaType,
    artifactType: record.artifactType,
    configDigest: null,
    created: null,
    platforms: [],
    size: record.size,
    layers: [],
    history: [],
    annotations: record.annotations ?? {},
    labels: {},
    children: [],
  };
}
