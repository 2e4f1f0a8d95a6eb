/**
 * The root resolvers of zot's search queries. Each answer is built for the caller in the request's
 * `SearchScope`: repositories come from `visibleRepositories` (the same per-repository `read` check
 * as `/v2/_catalog`) or pass `canRead`, so a hidden repository is in no list, count or page total,
 * and asking for one by name answers exactly like asking for one that does not exist.
 */
import { GraphQLError } from 'graphql';
import type { Vulnerability } from './cve/types.js';
import { MAX_PAGE } from './limits.js';
import {
  cveOf,
  filterCves,
  isVulnerability,
  sortCves,
  summarize,
  vulnerabilitiesOf,
  NOT_SCANNED,
} from './vulnerabilities.js';
import type { TagSort } from '../meta/ui-summaries.js';
import {
  COSIGN_TAG_START,
  imageRefOfTag,
  platformObject,
  prefixMayMatchCosignTag,
  type ImageRef,
  type ImageSummaryView,
  type SearchScope,
} from './views.js';

type Obj = Record<string, unknown>;

interface PageInput {
  limit?: number | null;
  offset?: number | null;
  sortBy?: string | null;
}

interface FilterInput {
  Os?: (string | null)[] | null;
  Arch?: (string | null)[] | null;
  HasToBeSigned?: boolean | null;
  IsBookmarked?: boolean | null;
  IsStarred?: boolean | null;
}

interface ImageInput {
  Repo: string;
  Tag: string;
  Digest?: string | null;
  Platform?: { Os?: string | null; Arch?: string | null } | null;
}

interface Page {
  limit: number;
  offset: number;
  sortBy: string | undefined;
}

function pageOf(input: PageInput | null | undefined): Page {
  const limit = input?.limit ?? 0;
  const offset = input?.offset ?? 0;
  if (limit < 0 || offset < 0) throw new GraphQLError('negative values are not allowed in requestedPage');
  return {
    limit: limit === 0 ? MAX_PAGE : Math.min(limit, MAX_PAGE),
    offset,
    sortBy: input?.sortBy ?? undefined,
  };
}

function paginate<T>(
  items: readonly T[],
  page: Page,
): { Page: { TotalCount: number; ItemCount: number }; items: T[] } {
  const slice = items.slice(page.offset, page.offset + page.limit);
  return { Page: { TotalCount: items.length, ItemCount: slice.length }, items: slice };
}

const notFound = (what: string): GraphQLError => new GraphQLError(`${what} not found`);

/** `repo:tag` or `repo@digest`. */
function parseImage(image: string): { repo: string; tag?: string; digest?: string } {
  const at = image.indexOf('@');
  if (at > 0) return { repo: image.slice(0, at), digest: image.slice(at + 1) };
  const colon = image.lastIndexOf(':');
  if (colon <= 0 || colon === image.length - 1)
    throw new GraphQLError(
      `${JSON.stringify(image.slice(0, 300))} is not in the form repository:tag or repository@digest`,
    );
  return { repo: image.slice(0, colon), tag: image.slice(colon + 1) };
}

/** The image an argument names, when it exists and the caller may read its repository. */
async function resolveImage(scope: SearchScope, image: string): Promise<ImageRef | undefined> {
  const { repo, tag, digest } = parseImage(image);
  if (!scope.canRead(repo)) return undefined;
  const index = scope.deps.index;
  if (tag !== undefined) {
    const record = await index.resolveTag(repo, tag);
    const row = record && (await scope.deps.summaries.tags(repo, tag, 'name')).find((t) => t.tag === tag);
    return (
      record && {
        repo,
        tag,
        digest: record.digest,
        mediaType: record.mediaType,
        taggedAt: row?.pushedAt ?? record.pushedAt,
      }
    );
  }
  const record = await index.manifest(repo, digest!);
  if (!record) return undefined;
  return {
    repo,
    tag: (await index.tagsForDigest(repo, record.digest))[0] ?? null,
    digest: record.digest,
    mediaType: record.mediaType,
    taggedAt: record.pushedAt,
  };
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts images as zot's criteria ask; the default is newest first. */
async function sortImages(
  scope: SearchScope,
  images: ImageRef[],
  sortBy: string | undefined,
  needle = '',
): Promise<ImageRef[]> {
  // Each image's `repo:tag` once, not per comparison (a repository with 100,000 tags makes
  // millions of comparisons).
  const keys = new Map(images.map((i) => [i, `${i.repo}:${i.tag ?? i.digest}`]));
  const byKey = (a: ImageRef, b: ImageRef): number => byName(keys.get(a)!, keys.get(b)!);
  switch (sortBy) {
    case 'ALPHABETIC_ASC':
      return [...images].sort(byKey);
    case 'ALPHABETIC_DSC':
      return [...images].sort((a, b) => byKey(b, a));
    case 'RELEVANCE':
      if (needle !== '') {
        const rank = (i: ImageRef): number => (i.tag === needle ? 0 : 1);
        return [...images].sort((a, b) => rank(a) - rank(b) || byKey(a, b));
      }
      return [...images].sort((a, b) => b.taggedAt - a.taggedAt || byKey(a, b));
    case 'DOWNLOADS': {
      const counts = await Promise.all(images.map((i) => scope.deps.downloads.ofManifest(i.repo, i.digest)));
      const n = new Map(images.map((i, k) => [i, counts[k]?.count ?? 0]));
      return [...images].sort((a, b) => n.get(b)! - n.get(a)! || byKey(a, b));
    }
    default:
      return [...images].sort((a, b) => b.taggedAt - a.taggedAt || byKey(a, b));
  }
}

function wanted(list: (string | null)[] | null | undefined): string[] {
  return (list ?? [])
    .filter((v): v is string => typeof v === 'string' && v !== '')
    .map((v) => v.toLowerCase());
}

/** Whether a platform list satisfies the filter's `Os` and `Arch` lists (`arm64` matches `arm64/v8`). */
function platformsMatch(
  platforms: { Os: string | null; Arch: string | null }[],
  filter: FilterInput,
): boolean {
  const os = wanted(filter.Os);
  const arch = wanted(filter.Arch);
  if (os.length === 0 && arch.length === 0) return true;
  return platforms.some(
    (p) =>
      (os.length === 0 || os.includes((p.Os ?? '').toLowerCase())) &&
      (arch.length === 0 ||
        arch.includes((p.Arch ?? '').toLowerCase()) ||
        arch.includes((p.Arch ?? '').toLowerCase().split('/')[0]!)),
  );
}

function hasPlatformFilter(filter: FilterInput | null | undefined): boolean {
  return wanted(filter?.Os).length > 0 || wanted(filter?.Arch).length > 0;
}

async function filterImages(
  scope: SearchScope,
  images: ImageRef[],
  filter: FilterInput | null | undefined,
): Promise<ImageRef[]> {
  if (!filter) return images;
  const prefs = filter.IsBookmarked != null || filter.IsStarred != null ? await scope.prefs() : undefined;
  const out: ImageRef[] = [];
  for (const image of images) {
    if (prefs && filter.IsStarred != null && prefs.starred.has(image.repo) !== filter.IsStarred) continue;
    if (prefs && filter.IsBookmarked != null && prefs.bookmarked.has(image.repo) !== filter.IsBookmarked)
      continue;
    if (filter.HasToBeSigned && (await scope.signatures(image.repo, image.digest)).length === 0) continue;
    if (hasPlatformFilter(filter)) {
      const facts = await scope.facts(image.repo, image.digest);
      if (!platformsMatch((facts?.platforms ?? []).map(platformObject), filter)) continue;
    }
    out.push(image);
  }
  return out;
}

async function filterRepos(
  scope: SearchScope,
  names: string[],
  filter: FilterInput | null | undefined,
): Promise<string[]> {
  if (!filter) return names;
  const prefs = filter.IsBookmarked != null || filter.IsStarred != null ? await scope.prefs() : undefined;
  const { summaries, content } = scope.deps;
  const out: string[] = [];
  for (const name of names) {
    if (prefs && filter.IsStarred != null && prefs.starred.has(name) !== filter.IsStarred) continue;
    if (prefs && filter.IsBookmarked != null && prefs.bookmarked.has(name) !== filter.IsBookmarked) continue;
    if (filter.HasToBeSigned || hasPlatformFilter(filter)) {
      // Lists judge a repository by its newest image, as its summary shows it.
      const newest = (await summaries.summary(name))?.newestDigest;
      if (!newest) continue;
      if (filter.HasToBeSigned && (await scope.signatures(name, newest)).length === 0) continue;
      if (hasPlatformFilter(filter)) {
        const info = await content.info(name, newest).catch(() => undefined);
        if (!platformsMatch((info?.platforms ?? []).map(platformObject), filter)) continue;
      }
    }
    out.push(name);
  }
  return out;
}

/** Orders repository names as zot's criteria ask. `names` come in name order. */
async function sortRepos(
  scope: SearchScope,
  names: string[],
  sortBy: string | undefined,
  needle: string,
): Promise<string[]> {
  switch (sortBy) {
    case 'ALPHABETIC_DSC':
      return [...names].reverse();
    case 'UPDATE_TIME': {
      const byUpdate = await scope.visibleRepositories('updated', 'desc');
      // Unfiltered (the home page's list): the cached order as it is.
      if (names.length === byUpdate.length) return byUpdate;
      const wantedNames = new Set(names);
      return byUpdate.filter((n) => wantedNames.has(n));
    }
    case 'STARS': {
      const stars = await scope.starCounts();
      return [...names].sort((a, b) => (stars.get(b) ?? 0) - (stars.get(a) ?? 0) || byName(a, b));
    }
    case 'DOWNLOADS': {
      const downloads = await scope.repoDownloads();
      return [...names].sort((a, b) => (downloads.get(b) ?? 0) - (downloads.get(a) ?? 0) || byName(a, b));
    }
    case 'RELEVANCE': {
      if (needle === '') return names;
      // Ranked once per name, not once per comparison: a one-letter search matches every name.
      const ranked = names.map((name) => ({ name, rank: rankOf(name, needle) }));
      ranked.sort((a, b) => a.rank - b.rank || a.name.length - b.name.length || byName(a.name, b.name));
      return ranked.map((r) => r.name);
    }
    default:
      return names;
  }
}

/** How well a repository name matches a search: 0 for the name itself, then where the match starts. */
function rankOf(name: string, needle: string): number {
  if (needle === '') return 0;
  const lower = name.toLowerCase();
  if (lower === needle) return 0;
  const last = lower.slice(lower.lastIndexOf('/') + 1);
  if (last.startsWith(needle)) return 1;
  const at = lower.indexOf(needle);
  return at < 0 ? Number.MAX_SAFE_INTEGER : at + 2;
}

/** Whether `filter` can leave an image out (an empty filter object cannot). */
function filtersImages(filter: FilterInput | null | undefined): boolean {
  return (
    !!filter &&
    (!!filter.HasToBeSigned ||
      filter.IsStarred != null ||
      filter.IsBookmarked != null ||
      hasPlatformFilter(filter))
  );
}

/**
 * One page of `repo`'s images whose tag starts with `prefix`, counted and cut out by the database
 * (a repository with 100,000 tags then builds 15 rows, not 100,000) when that gives exactly what
 * `sortImages` would: no filter, an order the database keeps (by name, or newest first), no tag
 * equal to the prefix (relevance puts it first) and no cosign tag among the matches (they are
 * not images). Undefined otherwise: the caller then sorts every match itself.
 */
async function tagPageFromDatabase(
  scope: SearchScope,
  repo: string,
  prefix: string,
  page: Page,
  filter: FilterInput | null | undefined,
): Promise<{ Page: { TotalCount: number; ItemCount: number }; items: ImageRef[] } | undefined> {
  if (filtersImages(filter)) return undefined;
  const summaries = scope.deps.summaries;
  let order: TagSort;
  switch (page.sortBy) {
    case 'ALPHABETIC_ASC':
      order = 'name';
      break;
    case 'ALPHABETIC_DSC':
    case 'DOWNLOADS':
      return undefined;
    case 'RELEVANCE':
      if (prefix === '') order = 'pushed';
      else if (await scope.deps.index.resolveTag(repo, prefix)) return undefined;
      else order = 'name';
      break;
    default:
      order = 'pushed';
  }
  if (prefixMayMatchCosignTag(prefix) && (await summaries.tagMatches(repo, COSIGN_TAG_START, 'prefix')) > 0)
    return undefined;
  const [total, rows] = await Promise.all([
    summaries.tagMatches(repo, prefix, 'prefix'),
    summaries.tags(repo, prefix, order, { offset: page.offset, limit: page.limit }, 'prefix'),
  ]);
  return {
    Page: { TotalCount: total, ItemCount: rows.length },
    items: rows.map((r) => imageRefOfTag(repo, r)),
  };
}

async function reposResult(scope: SearchScope, names: string[], page: Page, needle = ''): Promise<Obj> {
  const { Page, items } = paginate(names, page);
  const summaries = await Promise.all(items.map((n) => scope.repoSummary(n, rankOf(n, needle))));
  return { Page, Results: summaries.filter((r) => r !== undefined) };
}

function imagesResult(scope: SearchScope, images: ImageRef[], page: Page): Obj {
  const { Page, items } = paginate(images, page);
  return { Page, Results: items.map((i) => scope.imageSummary(i)) };
}

function requireScanner(scope: SearchScope): void {
  if (!scope.deps.vulnerabilities?.enabled) throw new GraphQLError('cve search is disabled');
}

/** Every image of every repository the caller may read, in name order. */
async function allImages(scope: SearchScope): Promise<ImageRef[]> {
  const images: ImageRef[] = [];
  for (const repo of await scope.visibleRepositories()) images.push(...(await scope.imagesOf(repo)));
  return images;
}

/** Images of `repo` whose manifest, or one of whose index children, is in `digests`. */
async function imagesHolding(scope: SearchScope, repo: string, digests: Set<string>): Promise<ImageRef[]> {
  const index = scope.deps.index;
  const wantedDigests = new Set(digests);
  for (const d of digests) for (const parent of await index.referencedBy(repo, d)) wantedDigests.add(parent);
  return (await scope.imagesOf(repo)).filter((i) => wantedDigests.has(i.digest));
}

/** Base (`base`) or derived images of an image, judged by layer prefixes as zot does. */
async function relatedImages(
  scope: SearchScope,
  image: string,
  digest: string | null | undefined,
  base: boolean,
): Promise<ImageRef[]> {
  const target = await resolveImage(scope, image);
  if (!target) throw notFound('image');
  const index = scope.deps.index;
  const manifests = digest ? [digest] : await scope.imageManifests(target.repo, target.digest);
  const found = new Map<string, ImageRef>();
  for (const manifest of manifests) {
    const layers = (await scope.facts(target.repo, manifest))?.layers.map((l) => l.digest) ?? [];
    if (layers.length === 0) continue;
    for (const repo of await index.blobHolders(layers[0]!)) {
      if (!scope.canRead(repo)) continue;
      const matches = new Set<string>();
      for (const candidate of await index.referencedBy(repo, layers[0]!)) {
        const theirs = (await scope.facts(repo, candidate))?.layers.map((l) => l.digest) ?? [];
        const [shorter, longer] = base ? [theirs, layers] : [layers, theirs];
        if (shorter.length < longer.length && shorter.every((d, i) => longer[i] === d))
          matches.add(candidate);
      }
      if (matches.size === 0) continue;
      for (const i of await imagesHolding(scope, repo, matches)) {
        if (i.repo === target.repo && i.digest === target.digest) continue;
        found.set(`${i.repo}:${i.tag ?? i.digest}`, i);
      }
    }
  }
  return [...found.values()];
}

async function imageVulnerabilities(
  scope: SearchScope,
  image: ImageRef,
): Promise<Vulnerability[] | undefined> {
  return vulnerabilitiesOf(
    scope.deps.vulnerabilities,
    image.repo,
    await scope.imageManifests(image.repo, image.digest),
  );
}

function cveResult(
  list: Vulnerability[] | undefined,
  page: Page,
  filter: Parameters<typeof filterCves>[1],
): Obj {
  if (!list) return { CVEList: [], Summary: NOT_SCANNED, Page: { TotalCount: 0, ItemCount: 0 } };
  const matching = sortCves(filterCves(list, filter), page.sortBy);
  const { Page, items } = paginate(matching, page);
  return { CVEList: items.map(cveOf), Summary: summarize(matching), Page };
}

/** The image an ImageInput names, narrowed to one platform's manifest when it asks for one. */
async function resolveImageInput(
  scope: SearchScope,
  input: ImageInput,
): Promise<{ ref: ImageRef; manifests: string[] }> {
  const ref = input.Digest
    ? await resolveImage(scope, `${input.Repo}@${input.Digest}`)
    : await resolveImage(scope, `${input.Repo}:${input.Tag}`);
  if (!ref) throw notFound('image');
  let manifests = await scope.imageManifests(ref.repo, ref.digest);
  const os = input.Platform?.Os;
  const arch = input.Platform?.Arch;
  if (os || arch) {
    const matching: string[] = [];
    for (const m of manifests) {
      const platforms = ((await scope.facts(ref.repo, m))?.platforms ?? []).map(platformObject);
      if (platformsMatch(platforms, { Os: os ? [os] : [], Arch: arch ? [arch] : [] })) matching.push(m);
    }
    manifests = matching;
  }
  return { ref, manifests };
}

/** The root value: one resolver per query of zot's schema. */
export const rootResolvers = {
  GlobalSearch: async (
    args: { query: string; filter?: FilterInput | null; requestedPage?: PageInput | null },
    scope: SearchScope,
  ): Promise<Obj> => {
    const page = pageOf(args.requestedPage);
    const query = args.query.trim();
    const colon = query.indexOf(':');
    if (colon >= 0) {
      const repo = query.slice(0, colon);
      const tagPrefix = query.slice(colon + 1).toLowerCase();
      const readable = scope.canRead(repo) && (await scope.summary(repo)) !== undefined;
      const { Page, items } = !readable
        ? paginate([], page)
        : ((await tagPageFromDatabase(scope, repo, tagPrefix, page, args.filter)) ??
          paginate(
            await sortImages(
              scope,
              await filterImages(
                scope,
                // By name: the order most sorts want, which the sort then finds already in place.
                (await scope.imagesOf(repo, tagPrefix, 'name')).filter((i) =>
                  (i.tag ?? '').toLowerCase().startsWith(tagPrefix),
                ),
                args.filter,
              ),
              page.sortBy,
              tagPrefix,
            ),
            page,
          ));
      return { Page, Images: items.map((i) => scope.imageSummary(i)), Repos: [], Layers: [] };
    }
    const needle = query.toLowerCase();
    const visible = await scope.visibleRepositories();
    const names = needle === '' ? visible : visible.filter((n) => n.toLowerCase().includes(needle));
    const sorted = await sortRepos(
      scope,
      await filterRepos(scope, names, args.filter),
      page.sortBy ?? 'RELEVANCE',
      needle,
    );
    const { Page, Results } = await reposResult(scope, sorted, page, needle);
    return { Page, Repos: Results, Images: [], Layers: [] };
  },

  RepoListWithNewestImage: async (
    args: { requestedPage?: PageInput | null },
    scope: SearchScope,
  ): Promise<Obj> => {
    const page = pageOf(args.requestedPage);
    return reposResult(
      scope,
      await sortRepos(scope, await scope.visibleRepositories(), page.sortBy, ''),
      page,
    );
  },

  ExpandedRepoInfo: async (args: { repo: string }, scope: SearchScope): Promise<Obj> => {
    const repo = args.repo;
    // Hidden and unknown repositories get the same empty answer.
    const summary = scope.canRead(repo)
      ? await scope.repoSummary(repo, 0, await scope.imagesOf(repo))
      : undefined;
    if (!summary) return { Images: [], Summary: null };
    return { Images: summary.images!.map((i) => scope.imageSummary(i)), Summary: summary };
  },

  Image: async (args: { image: string }, scope: SearchScope): Promise<ImageSummaryView> => {
    const image = await resolveImage(scope, args.image);
    if (!image) throw notFound('image');
    return scope.imageSummary(image);
  },

  ImageList: async (
    args: { repo: string; requestedPage?: PageInput | null },
    scope: SearchScope,
  ): Promise<Obj> => {
    const page = pageOf(args.requestedPage);
    if (args.repo === '')
      return imagesResult(scope, await sortImages(scope, await allImages(scope), page.sortBy), page);
    if (!scope.canRead(args.repo)) return imagesResult(scope, [], page);
    return imagesResult(scope, await sortImages(scope, await scope.imagesOf(args.repo), page.sortBy), page);
  },

  ImageListForDigest: async (
    args: { id: string; requestedPage?: PageInput | null },
    scope: SearchScope,
  ): Promise<Obj> => {
    const page = pageOf(args.requestedPage);
    const index = scope.deps.index;
    const images: ImageRef[] = [];
    const digest = args.id.includes(':') ? args.id : `sha256:${args.id}`;
    for (const repo of await index.blobHolders(digest)) {
      if (!scope.canRead(repo)) continue;
      const holders = new Set(await index.referencedBy(repo, digest));
      if (await index.manifest(repo, digest)) holders.add(digest);
      images.push(...(await imagesHolding(scope, repo, holders)));
    }
    return imagesResult(scope, await sortImages(scope, images, page.sortBy), page);
  },

  Referrers: async (
    args: { repo: string; digest: string; type?: string[] | null },
    scope: SearchScope,
  ): Promise<Obj[]> => {
    if (!scope.canRead(args.repo) || !(await scope.deps.index.repositoryExists(args.repo)))
      throw notFound('repository');
    return scope.referrers(args.repo, args.digest, args.type ?? undefined);
  },

  BaseImageList: async (
    args: { image: string; digest?: string | null; requestedPage?: PageInput | null },
    scope: SearchScope,
  ): Promise<Obj> => {
    const page = pageOf(args.requestedPage);
    return imagesResult(
      scope,
      await sortImages(scope, await relatedImages(scope, args.image, args.digest, true), page.sortBy),
      page,
    );
  },

  DerivedImageList: async (
    args: { image: string; digest?: string | null; requestedPage?: PageInput | null },
    scope: SearchScope,
  ): Promise<Obj> => {
    const page = pageOf(args.requestedPage);
    return imagesResult(
      scope,
      await sortImages(scope, await relatedImages(scope, args.image, args.digest, false), page.sortBy),
      page,
    );
  },

  StarredRepos: async (args: { requestedPage?: PageInput | null }, scope: SearchScope): Promise<Obj> => {
    const page = pageOf(args.requestedPage);
    const { starred } = await scope.prefs();
    const names = (await scope.visibleRepositories()).filter((n) => starred.has(n));
    return reposResult(scope, await sortRepos(scope, names, page.sortBy, ''), page);
  },

  BookmarkedRepos: async (args: { requestedPage?: PageInput | null }, scope: SearchScope): Promise<Obj> => {
    const page = pageOf(args.requestedPage);
    const { bookmarked } = await scope.prefs();
    const names = (await scope.visibleRepositories()).filter((n) => bookmarked.has(n));
    return reposResult(scope, await sortRepos(scope, names, page.sortBy, ''), page);
  },

  CVEListForImage: async (
    args: {
      image: string;
      requestedPage?: PageInput | null;
      searchedCVE?: string | null;
      excludedCVE?: string | null;
      severity?: string | null;
    },
    scope: SearchScope,
  ): Promise<Obj> => {
    requireScanner(scope);
    const page = pageOf(args.requestedPage);
    const image = await resolveImage(scope, args.image);
    if (!image) throw notFound('image');
    return { Tag: image.tag, ...cveResult(await imageVulnerabilities(scope, image), page, args) };
  },

  CVEDiffListForImages: async (
    args: {
      minuend: ImageInput;
      subtrahend: ImageInput;
      requestedPage?: PageInput | null;
      searchedCVE?: string | null;
      excludedCVE?: string | null;
    },
    scope: SearchScope,
  ): Promise<Obj> => {
    requireScanner(scope);
    const page = pageOf(args.requestedPage);
    const minuend = await resolveImageInput(scope, args.minuend);
    const subtrahend = await resolveImageInput(scope, args.subtrahend);
    const service = scope.deps.vulnerabilities;
    const theirs = await vulnerabilitiesOf(service, subtrahend.ref.repo, subtrahend.manifests);
    const ours = await vulnerabilitiesOf(service, minuend.ref.repo, minuend.manifests);
    const identifier = (input: ImageInput, ref: ImageRef): Obj => ({
      Repo: ref.repo,
      Tag: input.Tag,
      Digest: ref.digest,
      Platform: input.Platform ? { Os: input.Platform.Os ?? null, Arch: input.Platform.Arch ?? null } : null,
    });
    const diff = ours && theirs ? ours.filter((v) => !theirs.some((t) => t.id === v.id)) : undefined;
    return {
      Minuend: identifier(args.minuend, minuend.ref),
      Subtrahend: identifier(args.subtrahend, subtrahend.ref),
      ...cveResult(diff, page, args),
    };
  },

  ImageListForCVE: async (
    args: { id: string; filter?: FilterInput | null; requestedPage?: PageInput | null },
    scope: SearchScope,
  ): Promise<Obj> => {
    requireScanner(scope);
    const page = pageOf(args.requestedPage);
    const affected: ImageRef[] = [];
    for (const image of await allImages(scope)) {
      const list = await imageVulnerabilities(scope, image);
      if (list?.some((v) => isVulnerability(v, args.id))) affected.push(image);
    }
    return imagesResult(
      scope,
      await sortImages(scope, await filterImages(scope, affected, args.filter), page.sortBy),
      page,
    );
  },

  ImageListWithCVEFixed: async (
    args: { id: string; image: string; filter?: FilterInput | null; requestedPage?: PageInput | null },
    scope: SearchScope,
  ): Promise<Obj> => {
    requireScanner(scope);
    const page = pageOf(args.requestedPage);
    const repo = args.image.includes(':') ? parseImage(args.image).repo : args.image;
    const fixed: ImageRef[] = [];
    if (scope.canRead(repo)) {
      for (const image of await scope.imagesOf(repo)) {
        const list = await imageVulnerabilities(scope, image);
        // Only a finished scan can say an image is free of the CVE.
        if (list && !list.some((v) => isVulnerability(v, args.id))) fixed.push(image);
      }
    }
    return imagesResult(
      scope,
      await sortImages(scope, await filterImages(scope, fixed, args.filter), page.sortBy),
      page,
    );
  },
};
