/**
 * zot's tag search (`GlobalSearch(query:"repo:prefix")`): the answers, page by page, in every
 * order, for prefixes the database can answer by itself (a page cut out by SQL) and for those it
 * cannot (a tag equal to the prefix ranks first under RELEVANCE; cosign tags are not images).
 * Each answer is compared with what zot's rules give for the pushed tags, computed here.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { makeImage, makeLayer, pushContent, sha256 } from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';

/** Push order (oldest first). `V1.10` has capitals; `v1_x` holds the LIKE wildcard `_`. */
const APP_TAGS = ['v1.2', 'V1.10', 'v1', 'v1.1', 'v10', 'latest', 'v1_x', 'v1x'];
const COSIGN = `sha256-${sha256('signed image').slice('sha256:'.length)}.sig`;
/** A repository without cosign tags: the database answers even an empty prefix. */
const PLAIN_TAGS = ['b', 'a', 'c2', 'c1', 'd'];

type Sort = 'RELEVANCE' | 'ALPHABETIC_ASC' | 'ALPHABETIC_DSC' | 'UPDATE_TIME' | undefined;

/** zot's rules: prefix match ignoring case; newest first by default; RELEVANCE puts the exact tag first. */
function expected(pushed: string[], prefix: string, sort: Sort): string[] {
  const needle = prefix.toLowerCase();
  const age = new Map(pushed.map((t, i) => [t, i]));
  const matches = pushed.filter((t) => t.toLowerCase().startsWith(needle) && !t.startsWith('sha256-'));
  const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const newest = (a: string, b: string): number => age.get(b)! - age.get(a)! || byName(a, b);
  switch (sort) {
    case 'ALPHABETIC_ASC':
      return matches.sort(byName);
    case 'ALPHABETIC_DSC':
      return matches.sort((a, b) => byName(b, a));
    case 'RELEVANCE':
      if (needle === '') return matches.sort(newest);
      return matches.sort((a, b) => Number(a !== needle) - Number(b !== needle) || byName(a, b));
    default:
      return matches.sort(newest);
  }
}

describe('search: tag pages of one repository', () => {
  let server: RunningServer;

  before(async () => {
    server = await startBerth({ config: { extensions: { search: { enable: true } } } });
    const image = makeImage({ layers: [makeLayer({ size: 256, seed: 'tag-pages' })] });
    for (const [repo, tags] of [
      ['pages/app', [...APP_TAGS.slice(0, 4), COSIGN, ...APP_TAGS.slice(4)]],
      ['pages/plain', PLAIN_TAGS],
    ] as const) {
      for (const tag of tags) {
        await pushContent(server.url, repo, image, tag);
        await sleep(5); // distinct push times: "newest first" has one answer
      }
    }
  });

  after(async () => {
    await server?.stop();
  });

  async function page(
    repo: string,
    prefix: string,
    sort: Sort,
    offset: number,
    limit: number,
  ): Promise<{ total: number; count: number; tags: string[] }> {
    const requested = `requestedPage:{limit:${limit} offset:${offset}${sort ? ` sortBy:${sort}` : ''}}`;
    const query = `{GlobalSearch(query:"${repo}:${prefix}", ${requested}){Page{TotalCount ItemCount} Images{RepoName Tag}}}`;
    const res = await fetch(`${server.url}/v2/_zot/ext/search?query=${encodeURIComponent(query)}`);
    const body = (await res.json()) as {
      data?: {
        GlobalSearch: {
          Page: { TotalCount: number; ItemCount: number };
          Images: { RepoName: string; Tag: string }[];
        };
      };
      errors?: unknown;
    };
    assert.equal(res.status, 200);
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const { Page, Images } = body.data!.GlobalSearch;
    for (const image of Images) assert.equal(image.RepoName, repo);
    return { total: Page.TotalCount, count: Page.ItemCount, tags: Images.map((i) => i.Tag) };
  }

  /** Every page of 3 (and one past the end) equals the expected list's slice. */
  async function checkPages(repo: string, pushed: string[], prefix: string, sort: Sort): Promise<void> {
    const want = expected(pushed, prefix, sort);
    for (let offset = 0; offset <= want.length + 1; offset += 3) {
      const got = await page(repo, prefix, sort, offset, 3);
      const slice = want.slice(offset, offset + 3);
      assert.deepEqual(
        got,
        { total: want.length, count: slice.length, tags: slice },
        `${repo}:${prefix} ${sort ?? 'default'} offset ${offset}`,
      );
    }
  }

  const SORTS: Sort[] = ['RELEVANCE', 'ALPHABETIC_ASC', 'ALPHABETIC_DSC', 'UPDATE_TIME', undefined];

  it('prefixes the database answers alone: by name, newest first, any case', async () => {
    for (const prefix of ['v1.', 'V1.', 'v1_', 'v10', 'l', 'zzz'])
      for (const sort of SORTS) await checkPages('pages/app', APP_TAGS, prefix, sort);
    // A LIKE wildcard in the prefix is a literal: `v1_` is `v1_x` only, never `v1.1` or `v1x`.
    assert.deepEqual((await page('pages/app', 'v1_', 'ALPHABETIC_ASC', 0, 10)).tags, ['v1_x']);
  });

  it('a tag equal to the prefix ranks first under RELEVANCE', async () => {
    for (const sort of SORTS) await checkPages('pages/app', APP_TAGS, 'v1', sort);
    assert.deepEqual((await page('pages/app', 'v1', 'RELEVANCE', 0, 2)).tags, ['v1', 'V1.10']);
  });

  it('cosign tags are never images, whether or not the prefix could match them', async () => {
    for (const prefix of ['', 's', 'sha256-'])
      for (const sort of SORTS) await checkPages('pages/app', APP_TAGS, prefix, sort);
    for (const prefix of ['', 'c', 'sha'])
      for (const sort of SORTS) await checkPages('pages/plain', PLAIN_TAGS, prefix, sort);
  });

  it('a repository pushed a moment ago is found by the first query that names it', async () => {
    const image = makeImage({ layers: [makeLayer({ size: 128, seed: 'tag-pages-new' })] });
    await pushContent(server.url, 'pages/new', image, '1.0');
    const query = '{ExpandedRepoInfo(repo:"pages/new"){Summary{Name} Images{Tag}}}';
    const res = await fetch(`${server.url}/v2/_zot/ext/search?query=${encodeURIComponent(query)}`);
    assert.deepEqual(await res.json(), {
      data: { ExpandedRepoInfo: { Summary: { Name: 'pages/new' }, Images: [{ Tag: '1.0' }] } },
    });
    await pushContent(server.url, 'pages/newer', image, '2.0');
    assert.deepEqual(await page('pages/newer', '', 'RELEVANCE', 0, 3), { total: 1, count: 1, tags: ['2.0'] });
  });

  it('a repository that does not exist has no tags', async () => {
    assert.deepEqual(await page('pages/none', '', 'RELEVANCE', 0, 3), { total: 0, count: 0, tags: [] });
  });
});
