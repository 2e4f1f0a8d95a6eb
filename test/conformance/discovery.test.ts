/**
 * Content discovery: listing tags (end-8a, end-8b) and the catalog (`GET /v2/_catalog`), in
 * lexical order, paginated with `n` and `last`, with `Link: <...>; rel="next"` while more remain
 * and an empty list without `Link` for `n=0`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { makeImage } from '../support/fixtures.js';
import {
  assertError,
  assertStatus,
  nextLink,
  pushAll,
  pushParts,
  putManifest,
  send,
  startTarget,
  uniqueRepo,
  walkCatalog,
  type Target,
} from './helpers.js';

let target: Target;
const tagged = uniqueRepo('tags');
/** Lower case letters and digits only, so lexical and ASCII order agree. */
const TAGS = ['a1', 'a2', 'b', 'c10', 'c9', 'd', 'latest'];
const catalogPrefix = uniqueRepo('catalog');
const REPOS = ['alpha', 'beta', 'delta', 'epsilon', 'gamma/deep', 'gamma/deep/er'].map(
  (r) => `${catalogPrefix}/${r}`,
);

before(async () => {
  target = await startTarget();
  const image = makeImage();
  await pushParts(target.url, tagged, image);
  // Pushed out of order: the registry sorts.
  for (const tag of ['c9', 'latest', 'a2', 'd', 'a1', 'c10', 'b'])
    assertStatus(await putManifest(target.url, tagged, tag, image.manifest), 201);
  for (const repo of [...REPOS].reverse()) await pushAll(target.url, repo, makeImage(), 'v1');
});
after(async () => {
  await target?.stop();
});

interface TagList {
  name: string;
  tags: string[] | null;
}

const tagsUrl = (repo: string, query = ''): string => `${target.url}/v2/${repo}/tags/list${query}`;

/** ASCII order (Go's sort.Strings) and case-insensitive order both satisfy the spec. */
function isSorted(list: string[]): boolean {
  const ascii = [...list].sort();
  const insensitive = [...list].sort(
    (a, b) => a.toLowerCase().localeCompare(b.toLowerCase()) || (a < b ? -1 : 1),
  );
  return list.join('\n') === ascii.join('\n') || list.join('\n') === insensitive.join('\n');
}

describe('listing tags', () => {
  it('answers 200 with the name and every tag, in lexical order', async () => {
    const reply = await send(tagsUrl(tagged));
    assert.equal(reply.status, 200, reply.describe());
    assert.deepEqual(reply.json<TagList>(), { name: tagged, tags: TAGS });
  });

  it('orders tags of mixed case lexically or ASCIIbetically', async () => {
    const repo = uniqueRepo('tags-case');
    const image = makeImage();
    await pushParts(target.url, repo, image);
    for (const tag of ['beta', 'Alpha', 'alpha2', 'Zulu', 'zeta', '_x', '9'])
      assertStatus(await putManifest(target.url, repo, tag, image.manifest), 201);
    const tags = (await send(tagsUrl(repo))).json<TagList>().tags ?? [];
    assert.equal(tags.length, 7);
    assert.ok(isSorted(tags), `not in lexical order: ${tags.join(' ')}`);
  });

  it('n limits the answer to the first n tags', async () => {
    const reply = await send(tagsUrl(tagged, '?n=3'));
    assert.equal(reply.status, 200, reply.describe());
    assert.deepEqual(reply.json<TagList>().tags, TAGS.slice(0, 3));
  });

  it('n with more tags remaining answers Link: <...>; rel="next"', async () => {
    const reply = await send(tagsUrl(tagged, '?n=3'));
    assert.ok(nextLink(reply), `Link rel="next" expected: ${JSON.stringify(reply.headerValues('link'))}`);
  });

  it('following Link rel="next" visits every tag once, in order, and the last page has no Link', async () => {
    const seen: string[] = [];
    let url: string | undefined = tagsUrl(tagged, '?n=2');
    let pages = 0;
    while (url !== undefined) {
      const reply = await send(url);
      assert.equal(reply.status, 200, reply.describe());
      const page = reply.json<TagList>().tags ?? [];
      assert.ok(page.length <= 2, `at most n tags per page: ${reply.describe()}`);
      seen.push(...page);
      url = nextLink(reply);
      assert.ok(++pages <= TAGS.length + 1, 'pagination ends');
    }
    assert.deepEqual(seen, TAGS);
  });

  it('n with last answers the n tags after last', async () => {
    const reply = await send(tagsUrl(tagged, '?n=2&last=b'));
    assert.equal(reply.status, 200, reply.describe());
    assert.deepEqual(reply.json<TagList>().tags, ['c10', 'c9']);
  });

  it('last alone answers every tag after last', async () => {
    const reply = await send(tagsUrl(tagged, '?last=c9'));
    assert.equal(reply.status, 200, reply.describe());
    assert.deepEqual(reply.json<TagList>().tags, ['d', 'latest']);
  });

  it('last after the final tag answers an empty list', async () => {
    const reply = await send(tagsUrl(tagged, '?n=5&last=latest'));
    assert.equal(reply.status, 200, reply.describe());
    assert.deepEqual(reply.json<TagList>().tags ?? [], []);
    assert.equal(nextLink(reply), undefined);
  });

  it('n=0 answers an empty list and no Link header', async () => {
    const reply = await send(tagsUrl(tagged, '?n=0'));
    assert.equal(reply.status, 200, reply.describe());
    assert.deepEqual(reply.json<TagList>().tags, []);
    assert.deepEqual(reply.headerValues('link'), []);
  });

  it('n beyond the number of tags answers them all and no Link', async () => {
    const reply = await send(tagsUrl(tagged, '?n=100'));
    assert.equal(reply.status, 200, reply.describe());
    assert.deepEqual(reply.json<TagList>().tags, TAGS);
    assert.equal(nextLink(reply), undefined);
  });

  it('a repository without tags answers 200 and an empty list', async () => {
    const repo = uniqueRepo('untagged');
    await pushAll(target.url, repo, makeImage());
    const reply = await send(tagsUrl(repo));
    assert.equal(reply.status, 200, reply.describe());
    assert.deepEqual(reply.json<TagList>().tags ?? [], []);
  });

  it('a deleted tag is no longer listed', async () => {
    const repo = uniqueRepo('tags-delete');
    const image = makeImage();
    await pushAll(target.url, repo, image, 'keep');
    assertStatus(await putManifest(target.url, repo, 'drop', image.manifest), 201);
    assertStatus(await send(`${target.url}/v2/${repo}/manifests/drop`, { method: 'DELETE' }), 202);
    assert.deepEqual((await send(tagsUrl(repo))).json<TagList>().tags, ['keep']);
  });

  it('a repository that does not exist answers 404 NAME_UNKNOWN', async () => {
    assertError(await send(tagsUrl(uniqueRepo('nowhere'))), 404, 'NAME_UNKNOWN');
  });
});

describe('the catalog', () => {
  interface Catalog {
    repositories: string[];
  }

  it('answers 200 with every repository, nested names included', async () => {
    const reply = await send(`${target.url}/v2/_catalog`);
    assert.equal(reply.status, 200, reply.describe());
    const repositories = reply.json<Catalog>().repositories;
    for (const repo of [...REPOS, tagged])
      assert.ok(repositories.includes(repo), `${repo} listed: ${reply.describe()}`);
  });

  it('lists repositories in lexical order', async () => {
    const repositories = (await send(`${target.url}/v2/_catalog`)).json<Catalog>().repositories;
    assert.ok(isSorted(repositories), `not in lexical order: ${repositories.join(' ')}`);
    assert.deepEqual(
      repositories.filter((r) => r.startsWith(`${catalogPrefix}/`)),
      REPOS,
    );
  });

  it('n limits the page and answers Link rel="next" while more remain', async () => {
    const reply = await send(`${target.url}/v2/_catalog?n=2`);
    assert.equal(reply.status, 200, reply.describe());
    assert.equal(reply.json<Catalog>().repositories.length, 2);
    assert.ok(nextLink(reply), `Link rel="next" expected: ${JSON.stringify(reply.headerValues('link'))}`);
  });

  it('following Link rel="next" walks the whole catalog once, in order', async () => {
    const whole = (await send(`${target.url}/v2/_catalog`)).json<Catalog>().repositories;
    assert.deepEqual(await walkCatalog(target.url, 2), whole);
  });

  it('last answers the repositories after it', async () => {
    const reply = await send(`${target.url}/v2/_catalog?n=2&last=${REPOS[1]}`);
    assert.equal(reply.status, 200, reply.describe());
    assert.deepEqual(reply.json<Catalog>().repositories, REPOS.slice(2, 4));
  });

  it('n=0 answers an empty list and no Link header', async () => {
    const reply = await send(`${target.url}/v2/_catalog?n=0`);
    assert.equal(reply.status, 200, reply.describe());
    assert.deepEqual(reply.json<Catalog>().repositories, []);
    assert.deepEqual(reply.headerValues('link'), []);
  });
});
