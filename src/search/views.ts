/**
 * zot's result objects (RepoSummary, ImageSummary, ManifestSummary...) built for one caller from
 * the registry's index, the UI's repository summaries and the per-digest facts. Costly fields are
 * functions, which GraphQL calls only when the query selects them: a list of names never reads a
 * config, a scan result or a star count.
 *
 * Nothing here may hand out a repository the caller cannot read: every entry point takes names
 * that went through `SearchScope.canRead` or `visibleRepositories`.
 */
import { isAnonymous, type Identity } from '../auth/identity.js';
import type { AccessGuard } from '../http/access.js';
import type { DownloadCounts } from '../meta/download-counts.js';
import type { UserPrefs, UserPrefsStore } from '../meta/user-prefs.js';
import type { Registry } from '../registry/registry.js';
import type { ContentReader } from '../ui/content.js';
import type { Platform, RepoSort, SortDirection, TagRow, UiQueries } from '../ui/queries.js';
import type { VisibleRepositories } from '../ui/visibility.js';
import type { VulnerabilityService } from './cve/types.js';
import type { FactsReader, ImageFacts } from './facts.js';
import { NOT_SCANNED, summarize, vulnerabilitiesOf, type VulnerabilitySummary } from './vulnerabilities.js';

export interface SearchDeps {
  readonly registry: Registry;
  readonly access: AccessGuard;
  readonly queries: UiQueries;
  readonly content: ContentReader;
  readonly facts: FactsReader;
  readonly prefs: UserPrefsStore;
  readonly downloads: DownloadCounts;
  readonly visibility: VisibleRepositories;
  readonly vulnerabilities: VulnerabilityService | undefined;
}

/** Signature artifact types and the tool that makes them. */
const SIGNATURE_TOOLS: Readonly<Record<string, string>> = {
  'application/vnd.dev.cosign.artifact.sig.v1+json': 'cosign',
  'application/vnd.dev.sigstore.bundle.v0.3+json': 'cosign',
  'application/vnd.cncf.notary.signature': 'notation',
};

/** cosign's tag-based signatures, attestations and SBOMs: artifacts of an image, not images. */
const COSIGN_TAG = /^sha256-[0-9a-f]{64}(\.[a-z]+)?$/;

export function isImageTag(tag: string): boolean {
  return !COSIGN_TAG.test(tag);
}

const ANNOTATION = {
  description: 'org.opencontainers.image.description',
  licenses: 'org.opencontainers.image.licenses',
  title: 'org.opencontainers.image.title',
  source: 'org.opencontainers.image.source',
  documentation: 'org.opencontainers.image.documentation',
  vendor: 'org.opencontainers.image.vendor',
  authors: 'org.opencontainers.image.authors',
} as const;

/** zot's reading: the manifest's annotation, else the config's label of the same name. */
function annotationOf(facts: ImageFacts | undefined, key: string): string | null {
  return facts?.annotations[key] ?? facts?.labels[key] ?? null;
}

export interface PlatformObject {
  Os: string | null;
  Arch: string | null;
}

/** zot writes a variant into the architecture: `arm64/v8`. */
export function platformObject(p: Platform): PlatformObject {
  return { Os: p.os, Arch: p.variant ? `${p.architecture}/${p.variant}` : p.architecture };
}

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined || ms <= 0 ? null : new Date(ms).toISOString();
}

function isoText(text: string | null | undefined): string | null {
  if (!text) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** Evaluates `make` once, on first use. */
function once<T>(make: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = make();
      done = true;
    }
    return value;
  };
}

/** One image as the lists see it: a tagged manifest (or one reached by digest, `tag` null). */
export interface ImageRef {
  repo: string;
  tag: string | null;
  digest: string;
  mediaType: string;
  /** When the tag was last set (or the manifest pushed). */
  taggedAt: number;
}

export function imageRefOfTag(repo: string, row: TagRow): ImageRef {
  return { repo, tag: row.tag, digest: row.digest, mediaType: row.mediaType, taggedAt: row.pushedAt };
}

/** Everything one request's answers share: the caller, their preferences, lazily loaded counts. */
export class SearchScope {
  readonly prefs: () => Promise<UserPrefs>;
  readonly starCounts: () => Promise<Map<string, number>>;
  readonly repoDownloads: () => Promise<Map<string, number>>;
  private readonly factsMemo = new Map<string, Promise<ImageFacts | undefined>>();

  constructor(
    readonly deps: SearchDeps,
    readonly identity: Identity,
  ) {
    this.prefs = once(() => deps.prefs.of(isAnonymous(identity) ? '' : identity.username));
    this.starCounts = once(() => deps.prefs.starCounts());
    this.repoDownloads = once(() => deps.downloads.perRepository());
  }

  canRead(repo: string): boolean {
    return this.deps.access.can(this.identity, 'read', repo);
  }

  /** Repositories holding a manifest that the caller may read, in one of the summaries' orders. */
  visibleRepositories(sort: RepoSort = 'name', direction: SortDirection = 'asc'): string[] {
    const { queries, visibility } = this.deps;
    queries.ensureFresh();
    return visibility.filter(
      this.identity,
      `${sort}:${direction}`,
      queries.generation,
      queries.orderedNames(sort, direction),
    );
  }

  facts(repo: string, digest: string): Promise<ImageFacts | undefined> {
    const key = `${repo}@${digest}`;
    let facts = this.factsMemo.get(key);
    if (!facts) {
      facts = this.deps.facts.facts(repo, digest).catch(() => undefined);
      this.factsMemo.set(key, facts);
    }
    return facts;
  }

  /** Digests of the image manifests behind `digest` (itself, or an index's children the repository holds). */
  async imageManifests(repo: string, digest: string): Promise<string[]> {
    const facts = await this.facts(repo, digest);
    if (!facts || facts.children.length === 0) return [digest];
    const index = this.deps.registry.index;
    return facts.children.map((c) => c.digest).filter((d) => index.manifest(repo, d) !== undefined);
  }

  async vulnerabilitySummary(repo: string, digests: readonly string[]): Promise<VulnerabilitySummary> {
    const list = await vulnerabilitiesOf(this.deps.vulnerabilities, repo, digests);
    return list ? summarize(list) : NOT_SCANNED;
  }

  signatures(repo: string, digest: string): { Tool: string; IsTrusted: boolean; Author: string }[] {
    const index = this.deps.registry.index;
    const found: { Tool: string; IsTrusted: boolean; Author: string }[] = [];
    for (const r of index.referrers(repo, digest)) {
      const tool = r.artifactType ? SIGNATURE_TOOLS[r.artifactType] : undefined;
      if (tool) found.push({ Tool: tool, IsTrusted: false, Author: '' });
    }
    const legacy = `${digest.replace(':', '-')}.sig`;
    if (index.resolveTag(repo, legacy) !== undefined)
      found.push({ Tool: 'cosign', IsTrusted: false, Author: '' });
    return found;
  }

  referrers(repo: string, digest: string, types?: readonly string[]): Record<string, unknown>[] {
    return this.deps.registry.index
      .referrers(repo, digest)
      .filter(
        (r) => !types || types.length === 0 || (r.artifactType !== null && types.includes(r.artifactType)),
      )
      .map((r) => ({
        MediaType: r.mediaType,
        ArtifactType: r.artifactType,
        Size: r.size,
        Digest: r.digest,
        Annotations: Object.entries(r.annotations ?? {}).map(([Key, Value]) => ({ Key, Value })),
      }));
  }

  /** zot's ManifestSummary of one image manifest of `repo`. */
  manifestSummary(repo: string, digest: string, platform?: Platform): Record<string, unknown> {
    const facts = once(() => this.facts(repo, digest));
    return {
      Digest: digest,
      ConfigDigest: async () => (await facts())?.configDigest ?? null,
      LastUpdated: async () =>
        isoText((await facts())?.created) ?? iso(this.deps.registry.index.manifest(repo, digest)?.pushedAt),
      Size: async () => String((await facts())?.size ?? 0),
      IsSigned: () => this.signatures(repo, digest).length > 0,
      SignatureInfo: () => this.signatures(repo, digest),
      Platform: async () => {
        const own = platform ?? (await facts())?.platforms[0];
        return own ? platformObject(own) : null;
      },
      DownloadCount: async () => (await this.deps.downloads.ofManifest(repo, digest))?.count ?? 0,
      Layers: async () =>
        ((await facts())?.layers ?? []).map((l) => ({ Digest: l.digest, Size: String(l.size) })),
      History: async () => historyOf(await facts()),
      Vulnerabilities: () => this.vulnerabilitySummary(repo, [digest]),
      Referrers: () => this.referrers(repo, digest),
      ArtifactType: async () => (await facts())?.artifactType ?? null,
    };
  }

  /** zot's ImageSummary of an image (a tag, or a manifest by digest). */
  imageSummary(image: ImageRef): Record<string, unknown> {
    const { repo, digest } = image;
    const facts = once(() => this.facts(repo, digest));
    const record = once(() => this.deps.registry.index.manifest(repo, digest));
    const downloads = once(() => this.deps.downloads.ofManifest(repo, digest));
    const annotation = (key: string) => async (): Promise<string | null> => annotationOf(await facts(), key);
    const manifests = async (): Promise<Record<string, unknown>[]> => {
      const f = await facts();
      if (!f || f.children.length === 0) return [this.manifestSummary(repo, digest)];
      const index = this.deps.registry.index;
      return f.children
        .filter((c) => index.manifest(repo, c.digest) !== undefined)
        .map((c) => this.manifestSummary(repo, c.digest, c.platform));
    };
    return {
      RepoName: repo,
      Tag: image.tag,
      Digest: digest,
      MediaType: image.mediaType,
      Manifests: manifests,
      Size: async () => String((await facts())?.size ?? record()?.size ?? 0),
      DownloadCount: async () => (await downloads())?.count ?? 0,
      LastPullTimestamp: async () => iso((await downloads())?.lastPullAt),
      PushTimestamp: () => iso(record()?.pushedAt ?? image.taggedAt),
      PushedBy: null,
      TaggedTimestamp: iso(image.taggedAt),
      LastUpdated: async () => this.lastUpdated(image, await facts()),
      Description: annotation(ANNOTATION.description),
      IsSigned: () => this.signatures(repo, digest).length > 0,
      SignatureInfo: () => this.signatures(repo, digest),
      Licenses: annotation(ANNOTATION.licenses),
      Labels: null,
      Title: annotation(ANNOTATION.title),
      Source: annotation(ANNOTATION.source),
      Documentation: annotation(ANNOTATION.documentation),
      Vendor: annotation(ANNOTATION.vendor),
      Authors: annotation(ANNOTATION.authors),
      Vulnerabilities: async () =>
        this.deps.vulnerabilities?.enabled
          ? this.vulnerabilitySummary(repo, await this.imageManifests(repo, digest))
          : NOT_SCANNED,
      Referrers: () => this.referrers(repo, digest),
      IsDeletable: () => this.deps.access.can(this.identity, 'delete', repo),
      ArtifactType: async () => (await facts())?.artifactType ?? null,
    };
  }

  /** The config's creation time; for an index the newest of its children's; else the push time. */
  private async lastUpdated(image: ImageRef, facts: ImageFacts | undefined): Promise<string | null> {
    let created = facts?.created ?? null;
    if (facts && facts.children.length > 0) {
      const children = await Promise.all(facts.children.map((c) => this.facts(image.repo, c.digest)));
      for (const child of children) {
        if (child?.created && (created === null || Date.parse(child.created) > Date.parse(created)))
          created = child.created;
      }
    }
    return isoText(created) ?? iso(image.taggedAt);
  }

  /** Image references of the tags of `repo` (cosign's signature tags left out), newest first. */
  imagesOf(repo: string): ImageRef[] {
    return this.deps.queries
      .tags(repo, '', 'pushed')
      .filter((t) => isImageTag(t.tag))
      .map((t) => imageRefOfTag(repo, t));
  }

  /**
   * zot's RepoSummary of a repository the caller may read, or undefined when it holds nothing.
   * `images`, when given, are all of its images (ExpandedRepoInfo): platforms and vendors then come
   * from every image rather than the newest.
   */
  repoSummary(name: string, rank = 0, images?: ImageRef[]): Record<string, unknown> | undefined {
    const summary = this.deps.queries.summary(name);
    if (!summary) return undefined;
    const newest = once((): ImageRef | undefined => {
      if (images) return images[0];
      if (summary.newestTag === null || summary.newestDigest === null) return undefined;
      const record = this.deps.registry.index.resolveTag(name, summary.newestTag);
      return record
        ? {
            repo: name,
            tag: summary.newestTag,
            digest: record.digest,
            mediaType: record.mediaType,
            taggedAt: summary.updatedAt,
          }
        : undefined;
    });
    const described = async (): Promise<(ImageFacts | undefined)[]> => {
      const list = images ?? (newest() ? [newest()!] : []);
      return Promise.all(list.map((i) => this.facts(name, i.digest)));
    };
    return {
      Name: name,
      LastUpdated: iso(summary.updatedAt),
      Size: String(summary.size),
      Platforms: async () => {
        let platforms: Platform[];
        if (images) platforms = (await described()).flatMap((f) => f?.platforms ?? []);
        else {
          const digest = newest()?.digest;
          platforms = digest
            ? ((await this.deps.content.info(name, digest).catch(() => undefined))?.platforms ?? [])
            : [];
        }
        const seen = new Map<string, PlatformObject>();
        for (const p of platforms)
          seen.set(`${p.os}/${p.architecture}/${p.variant ?? ''}`, platformObject(p));
        return [...seen.values()];
      },
      Vendors: async () => [
        ...new Set((await described()).flatMap((f) => annotationOf(f, ANNOTATION.vendor) ?? [])),
      ],
      NewestImage: () => {
        const image = newest();
        return image ? this.imageSummary(image) : null;
      },
      DownloadCount: async () => (await this.repoDownloads()).get(name) ?? 0,
      StarCount: async () => (await this.starCounts()).get(name) ?? 0,
      IsBookmarked: async () => (await this.prefs()).bookmarked.has(name),
      IsStarred: async () => (await this.prefs()).starred.has(name),
      Rank: rank,
    };
  }
}

function historyOf(facts: ImageFacts | undefined): Record<string, unknown>[] {
  if (!facts) return [];
  // History entries that made a layer take the layers in order; empty ones have none.
  let layer = 0;
  return facts.history.map((h) => {
    const l = h.emptyLayer ? undefined : facts.layers[layer++];
    return {
      Layer: l ? { Digest: l.digest, Size: String(l.size) } : null,
      HistoryDescription: {
        Created: isoText(h.created),
        CreatedBy: h.createdBy ?? null,
        Author: null,
        Comment: h.comment ?? null,
        EmptyLayer: h.emptyLayer,
      },
    };
  });
}
