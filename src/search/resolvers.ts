/**
 * The root resolvers of zot's search queries. Each answer is built for the caller in the request's
 * `SearchScope`: repositories come from `visibleRepositories` (the same per-repository `read` check
 * as `/v2/_catalog`) or pass `canRead`, so a hidden repository is in no list, count or page total,
 * and asking for one by name answers exactly like asking for one that does not exist.
 */
import { GraphQLError } from 'graphql';
import type { Vulnerability } from './cve/types.js';
import {
  cveOf,
  filterCves,
  isVulnerability,
  sortCves,
  summarize,
  vulnerabilitiesOf,
  NOT_SCANNED,
} from './vulnerabilities.js';
import type { ImageRef, SearchScope } from './scope.js';
import { platformObject, type ImageSummaryView } from './views.js';
import {
  filterImages,
  filterRepos,
  pageOf,
  paginate,
  platformsMatch,
  rankOf,
  sortImages,
  sortRepos,
  tagPageFromDatabase,
  type FilterInput,
  type Page,
  type PageInput,
} from './listing.js';

type Obj = Record<string, unknown>;

interface ImageInput {
  Repo: string;
  Tag: string;
  Digest?: string | null;
  Platform?: { Os?: string | null; Arch?: string | null } | null;
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
