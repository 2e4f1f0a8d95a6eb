/**
 * zot's result objects (RepoSummary, ImageSummary, ManifestSummary...) built for one caller from
 * the registry's index, the UI's repository summaries and the per-digest facts. Costly fields are
 * functions, which GraphQL calls only when the query selects them: a list of names never reads a
 * config, a scan result or a star count.
 *
 * Nothing here may hand out a repository the caller cannot read: every entry point takes names
 * that went through `SearchScope.canRead` or `visibleRepositories` (scope.ts).
 */
import type { ManifestDownloads } from '../meta/download-counts.js';
import type { Platform, RepoSummary as UiRepoSummary } from '../meta/ui-summaries.js';
import type { ImageFacts } from './facts.js';
import type { ImageRef, SearchScope } from './scope.js';
import { NOT_SCANNED, type VulnerabilitySummary } from './vulnerabilities.js';

/** How every cosign tag (`sha256-<hex>.sig`, `.att`, `.sbom`) begins. */
export const COSIGN_TAG_START = 'sha256-';
/** cosign's tag-based signatures, attestations and SBOMs: artifacts of an image, not images. */
const COSIGN_TAG = new RegExp(`^${COSIGN_TAG_START}[0-9a-f]{64}(\\.[a-z]+)?$`);

export function isImageTag(tag: string): boolean {
  return !COSIGN_TAG.test(tag);
}

/** Whether a tag whose lower-case name starts with `prefix` may be a cosign tag. */
export function prefixMayMatchCosignTag(prefix: string): boolean {
  return COSIGN_TAG_START.startsWith(prefix) || prefix.startsWith(COSIGN_TAG_START);
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

type MaybePromise<T> = T | Promise<T>;

/** Applies `f` now when `value` is at hand, later when it is a promise. */
function then<T, R>(value: MaybePromise<T>, f: (value: T) => R): R | Promise<Awaited<R>> {
  // A promise's `then` flattens a promise `f` returns, which its typing does not say.
  return value instanceof Promise ? (value.then(f) as Promise<Awaited<R>>) : f(value);
}

/*
 * The result objects. GraphQL calls a method named like a field (with `this` bound) when the query
 * selects that field, and reads a property otherwise: the capitalised members are zot's fields, the
 * rest are helpers no query can reach. A field whose facts are in memory resolves without a promise.
 */

/** zot's ManifestSummary. */
export class ManifestSummaryView {
  readonly Digest: string;
  #facts: MaybePromise<ImageFacts | undefined> | undefined;

  constructor(
    private readonly scope: SearchScope,
    private readonly repo: string,
    digest: string,
    private readonly platform: Platform | undefined,
  ) {
    this.Digest = digest;
  }

  private facts(): MaybePromise<ImageFacts | undefined> {
    return (this.#facts ??= this.scope.facts(this.repo, this.Digest));
  }

  ConfigDigest(): MaybePromise<string | null> {
    return then(this.facts(), (f) => f?.configDigest ?? null);
  }

  LastUpdated(): MaybePromise<string | null> {
    return then(this.facts(), (f) => {
      const created = isoText(f?.created);
      if (created !== null) return created;
      return this.scope.deps.index.manifest(this.repo, this.Digest).then((r) => iso(r?.pushedAt));
    });
  }

  Size(): MaybePromise<string> {
    return then(this.facts(), (f) => String(f?.size ?? 0));
  }

  async IsSigned(): Promise<boolean> {
    return (await this.scope.signatures(this.repo, this.Digest)).length > 0;
  }

  SignatureInfo(): ReturnType<SearchScope['signatures']> {
    return this.scope.signatures(this.repo, this.Digest);
  }

  Platform(): MaybePromise<PlatformObject | null> {
    if (this.platform) return platformObject(this.platform);
    return then(this.facts(), (f) => (f?.platforms[0] ? platformObject(f.platforms[0]) : null));
  }

  async DownloadCount(): Promise<number> {
    return (await this.scope.deps.downloads.ofManifest(this.repo, this.Digest))?.count ?? 0;
  }

  Layers(): MaybePromise<{ Digest: string; Size: string }[]> {
    return then(this.facts(), (f) =>
      (f?.layers ?? []).map((l) => ({ Digest: l.digest, Size: String(l.size) })),
    );
  }

  History(): MaybePromise<Record<string, unknown>[]> {
    return then(this.facts(), historyOf);
  }

  Vulnerabilities(): MaybePromise<VulnerabilitySummary> {
    if (!this.scope.deps.vulnerabilities?.enabled) return NOT_SCANNED;
    return this.scope.vulnerabilitySummary(this.repo, [this.Digest]);
  }

  Referrers(): Promise<Record<string, unknown>[]> {
    return this.scope.referrers(this.repo, this.Digest);
  }

  ArtifactType(): MaybePromise<string | null> {
    return then(this.facts(), (f) => f?.artifactType ?? null);
  }
}

/** zot's ImageSummary. */
export class ImageSummaryView {
  readonly RepoName: string;
  readonly Tag: string | null;
  readonly Digest: string;
  readonly MediaType: string;
  readonly TaggedTimestamp: string | null;
  readonly PushedBy = null;
  readonly Labels = null;
  #facts: MaybePromise<ImageFacts | undefined> | undefined;
  #downloads: Promise<ManifestDownloads | undefined> | undefined;

  constructor(
    private readonly scope: SearchScope,
    private readonly image: ImageRef,
  ) {
    this.RepoName = image.repo;
    this.Tag = image.tag;
    this.Digest = image.digest;
    this.MediaType = image.mediaType;
    this.TaggedTimestamp = iso(image.taggedAt);
  }

  private facts(): MaybePromise<ImageFacts | undefined> {
    return (this.#facts ??= this.scope.facts(this.RepoName, this.Digest));
  }

  private downloads(): Promise<ManifestDownloads | undefined> {
    return (this.#downloads ??= this.scope.deps.downloads.ofManifest(this.RepoName, this.Digest));
  }

  private annotation(key: string): MaybePromise<string | null> {
    return then(this.facts(), (f) => annotationOf(f, key));
  }

  Manifests(): MaybePromise<ManifestSummaryView[]> {
    return then(this.facts(), (f) => {
      if (!f || f.children.length === 0) return [this.scope.manifestSummary(this.RepoName, this.Digest)];
      const children = f.children;
      return this.scope
        .presentChildren(
          this.RepoName,
          children.map((c) => c.digest),
        )
        .then((held) => {
          const present = new Set(held);
          return children
            .filter((c) => present.has(c.digest))
            .map((c) => this.scope.manifestSummary(this.RepoName, c.digest, c.platform));
        });
    });
  }

  Size(): MaybePromise<string> {
    return then(this.facts(), (f) =>
      f
        ? String(f.size)
        : this.scope.deps.index.manifest(this.RepoName, this.Digest).then((r) => String(r?.size ?? 0)),
    );
  }

  async DownloadCount(): Promise<number> {
    return (await this.downloads())?.count ?? 0;
  }

  async LastPullTimestamp(): Promise<string | null> {
    return iso((await this.downloads())?.lastPullAt);
  }

  async PushTimestamp(): Promise<string | null> {
    const record = await this.scope.deps.index.manifest(this.RepoName, this.Digest);
    return iso(record?.pushedAt ?? this.image.taggedAt);
  }

  /** The config's creation time; for an index the newest of its children's; else when it was tagged. */
  LastUpdated(): MaybePromise<string | null> {
    return then(this.facts(), (facts) => {
      if (!facts || facts.children.length === 0) return isoText(facts?.created) ?? iso(this.image.taggedAt);
      const children = facts.children.map((c) => this.scope.facts(this.RepoName, c.digest));
      const newest = (list: (ImageFacts | undefined)[]): string | null => {
        let created = facts.created;
        for (const child of list) {
          if (child?.created && (created === null || Date.parse(child.created) > Date.parse(created)))
            created = child.created;
        }
        return isoText(created) ?? iso(this.image.taggedAt);
      };
      return children.some((c) => c instanceof Promise)
        ? Promise.all(children.map((c) => Promise.resolve(c))).then(newest)
        : newest(children as (ImageFacts | undefined)[]);
    });
  }

  Description(): MaybePromise<string | null> {
    return this.annotation(ANNOTATION.description);
  }

  async IsSigned(): Promise<boolean> {
    return (await this.scope.signatures(this.RepoName, this.Digest)).length > 0;
  }

  SignatureInfo(): ReturnType<SearchScope['signatures']> {
    return this.scope.signatures(this.RepoName, this.Digest);
  }

  Licenses(): MaybePromise<string | null> {
    return this.annotation(ANNOTATION.licenses);
  }

  Title(): MaybePromise<string | null> {
    return this.annotation(ANNOTATION.title);
  }

  Source(): MaybePromise<string | null> {
    return this.annotation(ANNOTATION.source);
  }

  Documentation(): MaybePromise<string | null> {
    return this.annotation(ANNOTATION.documentation);
  }

  Vendor(): MaybePromise<string | null> {
    return this.annotation(ANNOTATION.vendor);
  }

  Authors(): MaybePromise<string | null> {
    return this.annotation(ANNOTATION.authors);
  }

  Vulnerabilities(): MaybePromise<VulnerabilitySummary> {
    if (!this.scope.deps.vulnerabilities?.enabled) return NOT_SCANNED;
    return this.scope
      .imageManifests(this.RepoName, this.Digest)
      .then((digests) => this.scope.vulnerabilitySummary(this.RepoName, digests));
  }

  Referrers(): Promise<Record<string, unknown>[]> {
    return this.scope.referrers(this.RepoName, this.Digest);
  }

  IsDeletable(): boolean {
    return this.scope.deps.access.can(this.scope.identity, 'delete', this.RepoName);
  }

  ArtifactType(): MaybePromise<string | null> {
    return then(this.facts(), (f) => f?.artifactType ?? null);
  }
}

/** zot's RepoSummary. */
export class RepoSummaryView {
  readonly Name: string;
  readonly LastUpdated: string | null;
  readonly Size: string;
  readonly Rank: number;
  #newest: Promise<ImageRef | undefined> | undefined;

  constructor(
    private readonly scope: SearchScope,
    private readonly summary: UiRepoSummary,
    rank: number,
    /** Every image of the repository, when the summary describes them all (ExpandedRepoInfo). */
    readonly images: ImageRef[] | undefined,
  ) {
    this.Name = summary.name;
    this.LastUpdated = iso(summary.updatedAt);
    this.Size = String(summary.size);
    this.Rank = rank;
  }

  /** The most recently tagged image. */
  private newest(): Promise<ImageRef | undefined> {
    return (this.#newest ??= this.findNewest());
  }

  private async findNewest(): Promise<ImageRef | undefined> {
    const { summary } = this;
    if (this.images) return this.images[0];
    if (summary.newestTag === null) return undefined;
    const record = await this.scope.deps.index.resolveTag(summary.name, summary.newestTag);
    return (
      record && {
        repo: summary.name,
        tag: summary.newestTag,
        digest: record.digest,
        mediaType: record.mediaType,
        taggedAt: summary.updatedAt,
      }
    );
  }

  /** Facts of every image (ExpandedRepoInfo) or of the newest. */
  private async described(): Promise<(ImageFacts | undefined)[]> {
    const newest = await this.newest();
    const list = this.images ?? (newest ? [newest] : []);
    return Promise.all(list.map((i) => Promise.resolve(this.scope.facts(this.Name, i.digest))));
  }

  async Platforms(): Promise<PlatformObject[]> {
    let platforms: Platform[];
    if (this.images) platforms = (await this.described()).flatMap((f) => f?.platforms ?? []);
    else {
      const digest = (await this.newest())?.digest;
      platforms = digest
        ? ((await this.scope.deps.content.info(this.Name, digest).catch(() => undefined))?.platforms ?? [])
        : [];
    }
    const seen = new Map<string, PlatformObject>();
    for (const p of platforms) seen.set(`${p.os}/${p.architecture}/${p.variant ?? ''}`, platformObject(p));
    return [...seen.values()];
  }

  async Vendors(): Promise<string[]> {
    return [...new Set((await this.described()).flatMap((f) => annotationOf(f, ANNOTATION.vendor) ?? []))];
  }

  async NewestImage(): Promise<ImageSummaryView | null> {
    const image = await this.newest();
    return image ? this.scope.imageSummary(image) : null;
  }

  async DownloadCount(): Promise<number> {
    return (await this.scope.repoDownloads()).get(this.Name) ?? 0;
  }

  async StarCount(): Promise<number> {
    return (await this.scope.starCounts()).get(this.Name) ?? 0;
  }

  async IsBookmarked(): Promise<boolean> {
    return (await this.scope.prefs()).bookmarked.has(this.Name);
  }

  async IsStarred(): Promise<boolean> {
    return (await this.scope.prefs()).starred.has(this.Name);
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
