/**
 * What one search request's answers share: the registry reads behind them (`SearchDeps`), the
 * caller and their preferences, and counts and per-digest facts loaded once, on first use. The
 * result objects it builds are views.ts's.
 *
 * Nothing here may hand out a repository the caller cannot read: every entry point takes names
 * that went through `SearchScope.canRead` or `visibleRepositories`.
 */
import { isAnonymous, type Identity } from '../auth/identity.js';
import type { AccessGuard } from '../http/access.js';
import type { DownloadCounts } from '../meta/download-counts.js';
import type { UserPrefs, UserPrefsStore } from '../meta/user-prefs.js';
import type { ContentReader } from '../ui/content.js';
import type {
  Platform,
  RepoSort,
  RepoSummary as UiRepoSummary,
  SortDirection,
  TagRow,
  TagSort,
} from '../meta/ui-summaries.js';
import type { VisibleRepositories } from '../ui/visibility.js';
import type { VulnerabilityService } from './cve/types.js';
import type { FactsReader, ImageFacts } from './facts.js';
import type { IndexReads, SummaryReads } from './reads.js';
import { NOT_SCANNED, summarize, vulnerabilitiesOf, type VulnerabilitySummary } from './vulnerabilities.js';
import { isImageTag, ImageSummaryView, ManifestSummaryView, RepoSummaryView } from './views.js';

export interface SearchDeps {
  readonly index: IndexReads;
  readonly summaries: SummaryReads;
  readonly access: AccessGuard;
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
  /** Brings the summaries up to date once per request, however many summaries it reads. */
  private readonly fresh: () => Promise<void>;
  private readonly factsMemo = new Map<string, Promise<ImageFacts | undefined>>();

  constructor(
    readonly deps: SearchDeps,
    readonly identity: Identity,
  ) {
    this.prefs = once(() => deps.prefs.of(isAnonymous(identity) ? '' : identity.username));
    this.starCounts = once(() => deps.prefs.starCounts());
    this.repoDownloads = once(() => deps.downloads.perRepository());
    this.fresh = once(() => deps.summaries.ensureFresh());
  }

  canRead(repo: string): boolean {
    return this.deps.access.can(this.identity, 'read', repo);
  }

  /** Repositories holding a manifest that the caller may read, in one of the summaries' orders. */
  async visibleRepositories(sort: RepoSort = 'name', direction: SortDirection = 'asc'): Promise<string[]> {
    const { summaries, visibility } = this.deps;
    await this.fresh();
    const generation = summaries.generation;
    const ordered = await summaries.orderedNames(sort, direction);
    return visibility.filter(this.identity, `${sort}:${direction}`, generation, ordered);
  }

  /**
   * A repository's summary, when it holds a manifest; current, so that a repository pushed a
   * moment ago is found even by a request that lists no repositories first.
   */
  async summary(repo: string): Promise<UiRepoSummary | undefined> {
    await this.fresh();
    return this.deps.summaries.summary(repo);
  }

  /** Facts of a manifest: at once when they are in memory, else a promise (one per request and digest). */
  facts(repo: string, digest: string): ImageFacts | undefined | Promise<ImageFacts | undefined> {
    const cached = this.deps.facts.cached(digest);
    if (cached) return cached;
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
    return this.presentChildren(
      repo,
      facts.children.map((c) => c.digest),
    );
  }

  /** The digests of `digests` that `repo` holds as manifests. */
  async presentChildren(repo: string, digests: string[]): Promise<string[]> {
    const held = await Promise.all(digests.map((d) => this.deps.index.manifest(repo, d)));
    return digests.filter((_, i) => held[i] !== undefined);
  }

  async vulnerabilitySummary(repo: string, digests: readonly string[]): Promise<VulnerabilitySummary> {
    const list = await vulnerabilitiesOf(this.deps.vulnerabilities, repo, digests);
    return list ? summarize(list) : NOT_SCANNED;
  }

  async signatures(
    repo: string,
    digest: string,
  ): Promise<{ Tool: string; IsTrusted: boolean; Author: string }[]> {
    const index = this.deps.index;
    const found: { Tool: string; IsTrusted: boolean; Author: string }[] = [];
    for (const r of await index.referrers(repo, digest)) {
      const tool = r.artifactType ? SIGNATURE_TOOLS[r.artifactType] : undefined;
      if (tool) found.push({ Tool: tool, IsTrusted: false, Author: '' });
    }
    const legacy = `${digest.replace(':', '-')}.sig`;
    if ((await index.resolveTag(repo, legacy)) !== undefined)
      found.push({ Tool: 'cosign', IsTrusted: false, Author: '' });
    return found;
  }

  async referrers(
    repo: string,
    digest: string,
    types?: readonly string[],
  ): Promise<Record<string, unknown>[]> {
    return (await this.deps.index.referrers(repo, digest))
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
  manifestSummary(repo: string, digest: string, platform?: Platform): ManifestSummaryView {
    return new ManifestSummaryView(this, repo, digest, platform);
  }

  /** zot's ImageSummary of an image (a tag, or a manifest by digest). */
  imageSummary(image: ImageRef): ImageSummaryView {
    return new ImageSummaryView(this, image);
  }

  /**
   * Image references of the tags of `repo` (cosign's signature tags left out), newest first or by
   * name; with `contains`, only tags whose name contains it (case-insensitive), which the database
   * narrows before any row is built.
   */
  async imagesOf(repo: string, contains = '', order: TagSort = 'pushed'): Promise<ImageRef[]> {
    return (await this.deps.summaries.tags(repo, contains, order))
      .filter((t) => isImageTag(t.tag))
      .map((t) => imageRefOfTag(repo, t));
  }

  /**
   * zot's RepoSummary of a repository the caller may read, or undefined when it holds nothing.
   * `images`, when given, are all of its images (ExpandedRepoInfo): platforms and vendors then come
   * from every image rather than the newest.
   */
  async repoSummary(name: string, rank = 0, images?: ImageRef[]): Promise<RepoSummaryView | undefined> {
    const summary = await this.summary(name);
    return summary && new RepoSummaryView(this, summary, rank, images);
  }
}
