/**
 * Reads manifests and image configs for the UI through the registry services, and derives what the
 * pages show from them: platforms, total image sizes, layers, labels, history, referrers.
 * Documents were validated when pushed; here they are only read, defensively, because a layout
 * served from an old zot data directory may hold anything.
 */
import type { Registry } from '../registry/registry.js';
import type { ManifestRecord, RegistryIndex } from '../meta/registry-index.js';
import { isIndexMediaType, MediaType } from '../oci/media-types.js';
import { tryParseDigest } from '../oci/digest.js';
import type { ManifestInfo, Platform, UiSummaries as UiQueries } from '../meta/ui-summaries.js';

/** Configs above this size are described, not parsed (real ones are a few KiB). */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Config media types whose JSON carries `os`, `architecture`, `config.Labels` and `history`. */
const IMAGE_CONFIG_TYPES = new Set<string>([MediaType.OciConfig, MediaType.DockerConfig]);

export interface LayerView {
  digest: string;
  mediaType: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface ChildView {
  digest: string;
  mediaType: string;
  size: number;
  platform?: Platform;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** Whether this repository holds the child (a pull-through cache may hold only some platforms). */
  present: boolean;
}

export interface ReferrerView {
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  annotations: Record<string, string> | null;
  pushedAt: number;
}

export interface HistoryEntry {
  created?: string;
  createdBy?: string;
  comment?: string;
  emptyLayer: boolean;
}

/** Everything the image page shows about one manifest. */
export interface ImageView {
  repo: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  manifestSize: number;
  imageSize: number;
  pushedAt: number;
  tags: string[];
  /** The manifest as stored, parsed. */
  manifest: unknown;
  annotations: Record<string, string>;
  platforms: Platform[];
  config?: {
    digest: string;
    mediaType: string;
    size: number;
    /** Parsed when it is JSON and not oversized. */
    json?: unknown;
  };
  created?: string;
  labels: Record<string, string>;
  history: HistoryEntry[];
  layers: LayerView[];
  /** For an index: its manifests. */
  manifests: ChildView[];
  subject?: { digest: string; mediaType: string; present: boolean };
  /** Indexes of this repository that list this manifest. */
  parents: string[];
  referrers: ReferrerView[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

function descriptors(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function sizeOf(d: Json): number {
  return typeof d.size === 'number' && Number.isFinite(d.size) && d.size >= 0 ? d.size : 0;
}

function platformOf(value: unknown): Platform | undefined {
  if (!isObject(value) || typeof value.os !== 'string' || typeof value.architecture !== 'string')
    return undefined;
  return {
    os: value.os,
    architecture: value.architecture,
    ...(typeof value.variant === 'string' && value.variant !== '' ? { variant: value.variant } : {}),
  };
}

/** BuildKit lists attestation manifests as platform `unknown/unknown`: not a platform anyone runs. */
function isRealPlatform(p: Platform): boolean {
  return p.os !== 'unknown' && p.architecture !== 'unknown';
}

function platformKey(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function uniquePlatforms(list: Platform[]): Platform[] {
  const seen = new Map<string, Platform>();
  for (const p of list) if (isRealPlatform(p) && !seen.has(platformKey(p))) seen.set(platformKey(p), p);
  return [...seen.values()].sort((a, b) => platformKey(a).localeCompare(platformKey(b)));
}

export class ContentReader {
  /** One computation per digest at a time, however many pages ask. */
  private readonly pending = new Map<string, Promise<ManifestInfo | undefined>>();

  constructor(
    private readonly registry: Registry,
    private readonly queries: UiQueries,
  ) {}

  /** The parsed manifest, or undefined when the repository does not hold it. */
  async manifest(repo: string, record: ManifestRecord): Promise<Json | undefined> {
    const bytes = await this.registry.manifests.read(repo, record);
    const doc: unknown = JSON.parse(bytes.toString('utf8'));
    return isObject(doc) ? doc : undefined;
  }

  /** The config blob's JSON, when it is small JSON the repository holds. */
  async configJson(repo: string, descriptor: Json): Promise<unknown> {
    const digest = typeof descriptor.digest === 'string' ? tryParseDigest(descriptor.digest) : undefined;
    if (!digest || sizeOf(descriptor) > MAX_CONFIG_BYTES) return undefined;
    try {
      const bytes = await this.registry.blobs.read(repo, digest);
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }

  /**
   * Platforms and total size of a manifest of `repo`, from the cache or computed from its content
   * (and then cached). Undefined when the repository no longer holds the manifest.
   */
  async info(repo: string, digest: string): Promise<ManifestInfo | undefined> {
    const cached = await this.queries.manifestInfo(digest);
    if (cached) return cached;
    const key = `${repo}@${digest}`;
    let running = this.pending.get(key);
    if (!running) {
      running = this.compute(repo, digest, 0).finally(() => this.pending.delete(key));
      this.pending.set(key, running);
    }
    return running;
  }

  /** `info` for many manifests, read concurrently; missing ones are left out of the map. */
  async infos(repo: string, digests: Iterable<string>): Promise<Map<string, ManifestInfo>> {
    const unique = [...new Set(digests)];
    const found = await Promise.all(unique.map((d) => this.info(repo, d).catch(() => undefined)));
    const out = new Map<string, ManifestInfo>();
    unique.forEach((d, i) => {
      const info = found[i];
      if (info) out.set(d, info);
    });
    return out;
  }

  private async compute(repo: string, digest: string, depth: number): Promise<ManifestInfo | undefined> {
    const cached = await this.queries.manifestInfo(digest);
    if (cached) return cached;
    const record = await this.registry.index.manifest(repo, digest);
    if (!record) return undefined;
    const doc = await this.manifest(repo, record);
    if (!doc) return undefined;
    let info: ManifestInfo;
    if (isIndexMediaType(record.mediaType)) {
      const children = descriptors(doc.manifests);
      // Nested indexes are rare; one level of recursion covers every real-world shape.
      const childInfos =
        depth === 0
          ? await Promise.all(
              children.map((c) =>
                typeof c.digest === 'string'
                  ? this.compute(repo, c.digest, 1).catch(() => undefined)
                  : Promise.resolve(undefined),
              ),
            )
          : [];
      const imageSize = children.reduce(
        (sum, c, i) => sum + (childInfos[i]?.imageSize ?? sizeOf(c)),
        record.size,
      );
      const platforms = children.flatMap((c, i) => {
        const own = platformOf(c.platform);
        return own ? [own] : (childInfos[i]?.platforms ?? []);
      });
      info = { imageSize, platforms: uniquePlatforms(platforms) };
    } else {
      const config = isObject(doc.config) ? doc.config : undefined;
      const layers = descriptors(doc.layers);
      const imageSize =
        record.size + (config ? sizeOf(config) : 0) + layers.reduce((sum, l) => sum + sizeOf(l), 0);
      let platforms: Platform[] = [];
      if (config && typeof config.mediaType === 'string' && IMAGE_CONFIG_TYPES.has(config.mediaType)) {
        const own = platformOf(await this.configJson(repo, config));
        if (own) platforms = [own];
      }
      info = { imageSize, platforms: uniquePlatforms(platforms) };
    }
    await this.queries.saveManifestInfo(digest, info);
    return info;
  }

  /** The image page's view of a manifest of `repo`. */
  async image(repo: string, record: ManifestRecord): Promise<ImageView | undefined> {
    const doc = await this.manifest(repo, record);
    if (!doc) return undefined;
    const index = this.registry.index;
    const info = await this.info(repo, record.digest);
    const view: ImageView = {
      repo,
      digest: record.digest,
      mediaType: record.mediaType,
      artifactType: typeof doc.artifactType === 'string' ? doc.artifactType : null,
      manifestSize: record.size,
      imageSize: info?.imageSize ?? record.size,
      pushedAt: record.pushedAt,
      tags: await index.tagsForDigest(repo, record.digest),
      manifest: doc,
      annotations: stringMap(doc.annotations),
      platforms: info?.platforms ?? [],
      labels: {},
      history: [],
      layers: [],
      manifests: [],
      parents: await presentManifests(index, repo, await index.referencedBy(repo, record.digest)),
      referrers: (await index.referrers(repo, record.digest)).map((r) => ({
        digest: r.digest,
        mediaType: r.mediaType,
        size: r.size,
        artifactType: r.artifactType,
        annotations: r.annotations,
        pushedAt: r.pushedAt,
      })),
    };
    if (isObject(doc.subject) && typeof doc.subject.digest === 'string') {
      view.subject = {
        digest: doc.subject.digest,
        mediaType: typeof doc.subject.mediaType === 'string' ? doc.subject.mediaType : '',
        present: index.manifest(repo, doc.subject.digest) !== undefined,
      };
    }
    if (isIndexMediaType(record.mediaType)) {
      view.manifests = descriptors(doc.manifests).map((c) => {
        const digest = typeof c.digest === 'string' ? c.digest : '';
        const platform = platformOf(c.platform);
        return {
          digest,
          mediaType: typeof c.mediaType === 'string' ? c.mediaType : '',
          size: sizeOf(c),
          ...(platform ? { platform } : {}),
          ...(typeof c.artifactType === 'string' ? { artifactType: c.artifactType } : {}),
          ...(isObject(c.annotations) ? { annotations: stringMap(c.annotations) } : {}),
          present: digest !== '' && index.manifest(repo, digest) !== undefined,
        };
      });
      return view;
    }
    view.layers = descriptors(doc.layers).map((l) => ({
      digest: typeof l.digest === 'string' ? l.digest : '',
      mediaType: typeof l.mediaType === 'string' ? l.mediaType : '',
      size: sizeOf(l),
      ...(isObject(l.annotations) ? { annotations: stringMap(l.annotations) } : {}),
    }));
    if (isObject(doc.config)) {
      const config = doc.config;
      const mediaType = typeof config.mediaType === 'string' ? config.mediaType : '';
      view.config = {
        digest: typeof config.digest === 'string' ? config.digest : '',
        mediaType,
        size: sizeOf(config),
      };
      if (mediaType !== MediaType.OciEmpty) {
        const json = await this.configJson(repo, config);
        if (json !== undefined) view.config.json = json;
        if (isObject(json) && IMAGE_CONFIG_TYPES.has(mediaType)) {
          if (typeof json.created === 'string') view.created = json.created;
          view.labels = stringMap(isObject(json.config) ? json.config.Labels : undefined);
          view.history = descriptors(json.history).map((h) => ({
            ...(typeof h.created === 'string' ? { created: h.created } : {}),
            ...(typeof h.created_by === 'string' ? { createdBy: h.created_by } : {}),
            ...(typeof h.comment === 'string' ? { comment: h.comment } : {}),
            emptyLayer: h.empty_layer === true,
          }));
        }
      }
    }
    return view;
  }
}

/** The digests of `candidates` that are manifests `repo` still holds. */
async function presentManifests(index: RegistryIndex, repo: string, candidates: string[]): Promise<string[]> {
  const present = await Promise.all(candidates.map((d) => index.manifest(repo, d)));
  return candidates.filter((_, i) => present[i] !== undefined);
}
