/**
 * How search answers are paged, filtered and ordered, as zot does it (its `PageInput` and `Filter`
 * arguments, its relevance rank), and the database's shortcut for one page of a repository's
 * tags. The root resolvers (`resolvers.ts`) build every list answer through these.
 */
import { GraphQLError } from 'graphql';
import { MAX_PAGE } from './limits.js';
import type { TagSort } from '../meta/ui-summaries.js';
import { COSIGN_TAG_START, platformObject, prefixMayMatchCosignTag } from './views.js';
import { imageRefOfTag, type ImageRef, type SearchScope } from './scope.js';

export interface PageInput {
  limit?: number | null;
  offset?: number | null;
  sortBy?: string | null;
}

export interface FilterInput {
  Os?: (string | null)[] | null;
  Arch?: (string | null)[] | null;
  HasToBeSigned?: boolean | null;
  IsBookmarked?: boolean | null;
  IsStarred?: boolean | null;
}

export interface Page {
  limit: number;
  offset: number;
  sortBy: string | undefined;
}

export function pageOf(input: PageInput | null | undefined): Page {
  const limit = input?.limit ?? 0;
  const offset = input?.offset ?? 0;
  if (limit < 0 || offset < 0) throw new GraphQLError('negative values are not allowed in requestedPage');
  return {
    limit: limit === 0 ? MAX_PAGE : Math.min(limit, MAX_PAGE),
    offset,
    sortBy: input?.sortBy ?? undefined,
  };
}

export function paginate<T>(
  items: readonly T[],
  page: Page,
): { Page: { TotalCount: number; ItemCount: number }; items: T[] } {
  const slice = items.slice(page.offset, page.offset + page.limit);
  return { Page: { TotalCount: items.length, ItemCount: slice.length }, items: slice };
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts images as zot's criteria ask; the default is newest first. */
export async function sortImages(
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
export function platformsMatch(
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

export async function filterImages(
  scope: SearchScope,
  images: ImageRef[],
  filter: FilterInput | null | undefined,
): Promise<ImageRef[]> {
  if (!filter) return images;
  const prefs = await prefsFor(scope, filter);
  const out: ImageRef[] = [];
  for (const image of images) {
    if (!prefsAllow(prefs, filter, image.repo)) continue;
    if (filter.HasToBeSigned && (await scope.signatures(image.repo, image.digest)).length === 0) continue;
    if (hasPlatformFilter(filter)) {
      const facts = await scope.facts(image.repo, image.digest);
      if (!platformsMatch((facts?.platforms ?? []).map(platformObject), filter)) continue;
    }
    out.push(image);
  }
  return out;
}

type Prefs = Awaited<ReturnType<SearchScope['prefs']>>;

/** The caller's stars and bookmarks, read only when `filter` asks about them. */
function prefsFor(scope: SearchScope, filter: FilterInput): Promise<Prefs | undefined> {
  return filter.IsBookmarked != null || filter.IsStarred != null ? scope.prefs() : Promise.resolve(undefined);
}

/** Whether the caller's stars and bookmarks let `repo` through `filter` (no prefs: no such filter). */
function prefsAllow(prefs: Prefs | undefined, filter: FilterInput, repo: string): boolean {
  if (!prefs) return true;
  if (filter.IsStarred != null && prefs.starred.has(repo) !== filter.IsStarred) return false;
  return filter.IsBookmarked == null || prefs.bookmarked.has(repo) === filter.IsBookmarked;
}

export async function filterRepos(
  scope: SearchScope,
  names: string[],
  filter: FilterInput | null | undefined,
): Promise<string[]> {
  if (!filter) return names;
  const prefs = await prefsFor(scope, filter);
  const { summaries, content } = scope.deps;
  const out: string[] = [];
  for (const name of names) {
    if (!prefsAllow(prefs, filter, name)) continue;
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
export async function sortRepos(
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
export function rankOf(name: string, needle: string): number {
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
export async function tagPageFromDatabase(
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
