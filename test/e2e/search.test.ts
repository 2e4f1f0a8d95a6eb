/**
 * zot's GraphQL search extension (`/v2/_zot/ext/search`), stars and bookmarks
 * (`/v2/_zot/ext/userprefs`) and `/v2/_oci/ext/discover`, against a real server whose access control
 * is the user's (`**`: anonymous and signed-in users read, `admins` do everything), plus a
 * `private/**` that only admins may read. Every query is asked as anonymous, a plain user (`bob`)
 * and an admin (`alice`): the private repository must be in no answer, count or total for the first
 * two.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import {
  getManifest,
  makeArtifact,
  makeImage,
  makeIndex,
  makeLayer,
  pushContent,
  descriptorOf,
  type Image,
  type ImageIndex,
} from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';
import { writeHtpasswd } from '../support/htpasswd.js';

const PASSWORDS = { alice: 'alice-password', bob: 'bob-password' };
type Caller = 'anonymous' | 'bob' | 'alice';
const CALLERS: readonly Caller[] = ['anonymous', 'bob', 'alice'];

function headersOf(caller: Caller): Record<string, string> {
  if (caller === 'anonymous') return {};
  const token = Buffer.from(`${caller}:${PASSWORDS[caller]}`).toString('base64');
  return { Authorization: `Basic ${token}` };
}

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

interface Page {
  TotalCount: number;
  ItemCount: number;
}
interface PlatformOut {
  Os: string;
  Arch: string;
}
interface ImageOut {
  RepoName: string;
  Tag: string;
  Digest: string;
  MediaType: string;
  Size: string;
  IsDeletable: boolean;
  IsSigned: boolean;
  SignatureInfo: { Tool: string }[];
  Vendor: string | null;
  Description: string | null;
  ArtifactType: string | null;
  DownloadCount: number;
  Referrers: { ArtifactType: string; Digest: string }[];
  Vulnerabilities: { MaxSeverity: string; Count: number };
  Manifests: {
    Digest: string;
    ConfigDigest: string;
    LastUpdated: string;
    Size: string;
    Platform: PlatformOut;
    Layers: { Digest: string; Size: string }[];
    History: { Layer: { Digest: string } }[];
  }[];
}
interface RepoOut {
  Name: string;
  Size: string;
  Platforms: PlatformOut[];
  NewestImage: ImageOut;
  StarCount: number;
  IsStarred: boolean;
}
interface ImagesOut {
  Page: Page;
  Results: ImageOut[];
}
interface ReposOut {
  Page: Page;
  Results: RepoOut[];
}
interface SearchOut {
  Page: Page;
  Repos: RepoOut[];
  Images: ImageOut[];
}

describe('search extension (GraphQL)', () => {
  let server: RunningServer;
  let work: string;
  let base: Image;
  let derived: Image;
  let secret: Image;
  let web: ImageIndex;

  const get = async (
    query: string,
    caller: Caller = 'anonymous',
  ): Promise<{ status: number; body: GraphQLBody }> => {
    const res = await fetch(`${server.url}/v2/_zot/ext/search?query=${encodeURIComponent(query)}`, {
      headers: headersOf(caller),
    });
    return { status: res.status, body: (await res.json()) as GraphQLBody };
  };
  /** A query that must succeed: its data. */
  const data = async <T>(query: string, caller: Caller = 'anonymous'): Promise<T> => {
    const { status, body } = await get(query, caller);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data as T;
  };
  const search = async (query: string, caller: Caller = 'anonymous'): Promise<SearchOut> =>
    (await data<{ GlobalSearch: SearchOut }>(query, caller)).GlobalSearch;
  const userprefs = async (caller: Caller, query: string): Promise<number> => {
    const res = await fetch(`${server.url}/v2/_zot/ext/userprefs?${query}`, {
      method: 'PUT',
      headers: headersOf(caller),
    });
    await res.arrayBuffer();
    return res.status;
  };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-search-'));
    const htpasswd = path.join(work, 'htpasswd');
    await writeHtpasswd(htpasswd, PASSWORDS);
    server = await startBerth({
      config: {
        http: {
          auth: { htpasswd: { path: htpasswd } },
          accessControl: {
            groups: { admins: { users: ['alice'] } },
            repositories: {
              '**': {
                policies: [{ groups: ['admins'], actions: ['read', 'create', 'update', 'delete'] }],
                anonymousPolicy: ['read'],
                defaultPolicy: ['read'],
              },
              'private/**': {
                policies: [{ groups: ['admins'], actions: ['read', 'create', 'update', 'delete'] }],
                anonymousPolicy: [],
                defaultPolicy: [],
              },
            },
          },
        },
        extensions: { search: { enable: true } },
      },
    });
    const admin = { headers: headersOf('alice') };
    const first = makeLayer({ size: 2048, seed: 'search-base-layer' });
    base = makeImage({
      layers: [first],
      annotations: {
        'org.opencontainers.image.vendor': 'Berth Test',
        'org.opencontainers.image.description': 'the base',
      },
    });
    derived = makeImage({ layers: [first, makeLayer({ size: 1024, seed: 'search-derived-layer' })] });
    secret = makeImage({ layers: [first, makeLayer({ size: 512, seed: 'search-secret-layer' })] });
    web = makeIndex({ layerSizes: [700] });
    await pushContent(server.url, 'apps/base', base, '1.0', admin);
    await pushContent(server.url, 'apps/derived', derived, '1.0', admin);
    await pushContent(server.url, 'private/secret', secret, '1.0', admin);
    await pushContent(server.url, 'apps/web', web, '1.0', admin);
    await pushContent(server.url, 'apps/web', makeIndex({ layerSizes: [800] }), '2.0', admin);
    // A notation signature of the base image, pushed as a referrer.
    const signature = makeArtifact({
      artifactType: 'application/vnd.cncf.notary.signature',
      subject: descriptorOf(base.manifest),
    });
    await pushContent(server.url, 'apps/base', signature, undefined, admin);
  });

  after(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('GlobalSearch lists readable repositories only, in every count', async () => {
    const query =
      '{GlobalSearch(query:"", requestedPage:{limit:10 offset:0 sortBy:ALPHABETIC_ASC}){Page{TotalCount ItemCount} Repos{Name Size LastUpdated Platforms{Os Arch} NewestImage{Tag Vendor Description IsSigned} StarCount IsStarred IsBookmarked}}}';
    for (const caller of CALLERS) {
      const result = await search(query, caller);
      const names = result.Repos.map((r) => r.Name);
      const expected = [
        'apps/base',
        'apps/derived',
        'apps/web',
        ...(caller === 'alice' ? ['private/secret'] : []),
      ];
      assert.deepEqual(names, expected, caller);
      assert.deepEqual(result.Page, { TotalCount: expected.length, ItemCount: expected.length }, caller);
    }
    const repos = (await search(query)).Repos;
    const baseRepo = repos.find((r) => r.Name === 'apps/base')!;
    assert.equal(baseRepo.NewestImage.Tag, '1.0');
    assert.equal(baseRepo.NewestImage.Vendor, 'Berth Test');
    assert.equal(baseRepo.NewestImage.IsSigned, true);
    assert.match(baseRepo.Size, /^\d+$/);
    const webRepo = repos.find((r) => r.Name === 'apps/web')!;
    assert.deepEqual(webRepo.Platforms.map((p) => `${p.Os}/${p.Arch}`).sort(), [
      'linux/amd64',
      'linux/arm64',
    ]);
  });

  it('GlobalSearch finds a hidden repository by name for admins only', async () => {
    const query = '{GlobalSearch(query:"secret"){Page{TotalCount ItemCount} Repos{Name}}}';
    assert.equal((await search(query, 'anonymous')).Page.TotalCount, 0);
    assert.equal((await search(query, 'bob')).Page.TotalCount, 0);
    assert.deepEqual((await search(query, 'alice')).Repos, [{ Name: 'private/secret' }]);
    // Tag search inside a hidden repository finds nothing either.
    const tags = '{GlobalSearch(query:"private/secret:"){Page{TotalCount} Images{RepoName Tag}}}';
    assert.equal((await search(tags, 'bob')).Page.TotalCount, 0);
    assert.deepEqual((await search(tags, 'alice')).Images, [{ RepoName: 'private/secret', Tag: '1.0' }]);
  });

  it('GlobalSearch with a colon searches the tags of one repository, with pages and filters', async () => {
    const all = await search(
      '{GlobalSearch(query:"apps/web:", requestedPage:{limit:1 offset:0 sortBy:ALPHABETIC_ASC}){Page{TotalCount ItemCount} Images{RepoName Tag}}}',
    );
    assert.deepEqual(all.Page, { TotalCount: 2, ItemCount: 1 });
    assert.deepEqual(all.Images, [{ RepoName: 'apps/web', Tag: '1.0' }]);
    const prefix = await search('{GlobalSearch(query:"apps/web:2"){Images{Tag}}}');
    assert.deepEqual(prefix.Images, [{ Tag: '2.0' }]);
    const arm = await search('{GlobalSearch(query:"", filter:{Arch:["arm64"]}){Repos{Name}}}');
    assert.deepEqual(arm.Repos, [{ Name: 'apps/web' }]);
    const signed = await search('{GlobalSearch(query:"apps", filter:{HasToBeSigned:true}){Repos{Name}}}');
    assert.deepEqual(signed.Repos, [{ Name: 'apps/base' }]);
  });

  it('RepoListWithNewestImage pages over readable repositories', async () => {
    const query =
      '{RepoListWithNewestImage(requestedPage:{limit:2 offset:2 sortBy:ALPHABETIC_ASC}){Page{TotalCount ItemCount} Results{Name NewestImage{Tag}}}}';
    type Out = { RepoListWithNewestImage: ReposOut };
    const anonymous = (await data<Out>(query)).RepoListWithNewestImage;
    assert.deepEqual(anonymous.Page, { TotalCount: 3, ItemCount: 1 });
    assert.deepEqual(anonymous.Results, [{ Name: 'apps/web', NewestImage: { Tag: '2.0' } }]);
    const admin = (await data<Out>(query, 'alice')).RepoListWithNewestImage;
    assert.deepEqual(admin.Page, { TotalCount: 4, ItemCount: 2 });
  });

  it('ExpandedRepoInfo describes every tag, and a hidden repository like a missing one', async () => {
    const query = (repo: string): string =>
      `{ExpandedRepoInfo(repo:"${repo}"){Images{Tag Digest MediaType Size IsDeletable Manifests{Digest Size Platform{Os Arch}} Vulnerabilities{MaxSeverity Count}} Summary{Name Platforms{Os Arch} Vendors}}}`;
    type Out = { ExpandedRepoInfo: { Images: ImageOut[]; Summary: RepoOut | null } };
    const info = (await data<Out>(query('apps/web'), 'bob')).ExpandedRepoInfo;
    assert.deepEqual(info.Images.map((i) => i.Tag).sort(), ['1.0', '2.0']);
    const one = info.Images.find((i) => i.Tag === '1.0')!;
    assert.equal(one.Digest, web.manifest.digest);
    assert.equal(one.MediaType, 'application/vnd.oci.image.index.v1+json');
    assert.equal(one.IsDeletable, false);
    assert.equal(one.Manifests.length, 2);
    assert.deepEqual(one.Vulnerabilities, { MaxSeverity: '', Count: 0 });
    assert.equal(info.Summary?.Name, 'apps/web');
    assert.equal((await data<Out>(query('apps/web'), 'alice')).ExpandedRepoInfo.Images[0]?.IsDeletable, true);

    const hidden = (await data<Out>(query('private/secret'), 'bob')).ExpandedRepoInfo;
    const missing = (await data<Out>(query('apps/nothing'), 'bob')).ExpandedRepoInfo;
    assert.deepEqual(hidden, missing);
    assert.deepEqual(hidden, { Images: [], Summary: null });
    assert.equal((await data<Out>(query('private/secret'), 'alice')).ExpandedRepoInfo.Images.length, 1);
  });

  it('Image gives the manifest, layers, history, referrers and signature', async () => {
    const image = (
      await data<{ Image: ImageOut }>(
        '{Image(image:"apps/base:1.0"){RepoName Tag Digest IsSigned SignatureInfo{Tool} Vendor Description ArtifactType Referrers{ArtifactType Digest} Manifests{Digest ConfigDigest LastUpdated Size Platform{Os Arch} Layers{Digest Size} History{Layer{Digest} HistoryDescription{CreatedBy EmptyLayer}}}}}',
      )
    ).Image;
    assert.equal(image.Digest, base.manifest.digest);
    assert.equal(image.IsSigned, true);
    assert.deepEqual(image.SignatureInfo, [{ Tool: 'notation' }]);
    assert.equal(image.Description, 'the base');
    assert.equal(image.ArtifactType, 'application/vnd.oci.image.config.v1+json');
    assert.equal(image.Referrers[0]?.ArtifactType, 'application/vnd.cncf.notary.signature');
    const manifest = image.Manifests[0]!;
    assert.equal(manifest.ConfigDigest, base.config.digest);
    assert.equal(manifest.LastUpdated, '2024-01-01T00:00:00.000Z');
    assert.deepEqual(manifest.Platform, { Os: 'linux', Arch: 'amd64' });
    assert.deepEqual(manifest.Layers, [
      { Digest: base.layers[0]!.digest, Size: String(base.layers[0]!.size) },
    ]);
    assert.equal(manifest.History[0]?.Layer.Digest, base.layers[0]!.digest);
    assert.equal(manifest.Size, String(base.manifest.size + base.config.size + base.layers[0]!.size));

    const hidden = await get('{Image(image:"private/secret:1.0"){Digest}}', 'bob');
    const missing = await get('{Image(image:"apps/nothing:1.0"){Digest}}', 'bob');
    assert.equal(hidden.status, 200);
    assert.deepEqual(
      hidden.body.errors?.map((e) => e.message),
      missing.body.errors?.map((e) => e.message),
    );
    assert.equal(hidden.body.data, null);
  });

  it('ImageList, ImageListForDigest and Referrers answer within what the caller may read', async () => {
    type Out = { ImageList: ImagesOut; ImageListForDigest: ImagesOut };
    const list = (
      await data<Out>(
        '{ImageList(repo:"apps/web", requestedPage:{limit:10 offset:0}){Page{TotalCount} Results{Tag}}}',
      )
    ).ImageList;
    assert.equal(list.Page.TotalCount, 2);
    const layer = base.layers[0]!.digest;
    const forDigest = (caller: Caller): Promise<Out> =>
      data<Out>(`{ImageListForDigest(id:"${layer}"){Page{TotalCount} Results{RepoName Tag}}}`, caller);
    const repos = async (caller: Caller): Promise<string[]> =>
      (await forDigest(caller)).ImageListForDigest.Results.map((r) => r.RepoName).sort();
    assert.deepEqual(await repos('bob'), ['apps/base', 'apps/derived']);
    assert.deepEqual(await repos('alice'), ['apps/base', 'apps/derived', 'private/secret']);
    assert.equal((await forDigest('anonymous')).ImageListForDigest.Page.TotalCount, 2);
    // A child manifest's digest finds the index that lists it.
    const child = web.images[0]!.manifest.digest;
    const byChild = await data<Out>(`{ImageListForDigest(id:"${child}"){Results{RepoName Tag}}}`);
    assert.deepEqual(byChild.ImageListForDigest.Results, [{ RepoName: 'apps/web', Tag: '1.0' }]);

    type Referrers = { Referrers: ImageOut['Referrers'] };
    const referrers = await data<Referrers>(
      `{Referrers(repo:"apps/base", digest:"${base.manifest.digest}", type:["application/vnd.cncf.notary.signature"]){ArtifactType MediaType}}`,
    );
    assert.equal(referrers.Referrers.length, 1);
    const none = await data<Referrers>(
      `{Referrers(repo:"apps/base", digest:"${base.manifest.digest}", type:["text/other"]){Digest}}`,
    );
    assert.deepEqual(none.Referrers, []);
  });

  it('BaseImageList and DerivedImageList follow shared layers, never into hidden repositories', async () => {
    const bases = await data<{ BaseImageList: ImagesOut }>(
      '{BaseImageList(image:"apps/derived:1.0"){Page{TotalCount} Results{RepoName Tag}}}',
    );
    assert.deepEqual(bases.BaseImageList.Results, [{ RepoName: 'apps/base', Tag: '1.0' }]);
    const derivedOf = async (caller: Caller): Promise<ImagesOut> =>
      (
        await data<{ DerivedImageList: ImagesOut }>(
          '{DerivedImageList(image:"apps/base:1.0"){Page{TotalCount ItemCount} Results{RepoName}}}',
          caller,
        )
      ).DerivedImageList;
    const forBob = await derivedOf('bob');
    assert.deepEqual(forBob.Results, [{ RepoName: 'apps/derived' }]);
    assert.deepEqual(forBob.Page, { TotalCount: 1, ItemCount: 1 });
    const forAlice = await derivedOf('alice');
    assert.deepEqual(forAlice.Results.map((r) => r.RepoName).sort(), ['apps/derived', 'private/secret']);
  });

  it('CVE queries answer as zot does with its scanner off', async () => {
    for (const query of [
      '{CVEListForImage(image:"apps/base:1.0"){Tag CVEList{Id}}}',
      '{ImageListForCVE(id:"CVE-2024-0001"){Results{Tag}}}',
      '{ImageListWithCVEFixed(id:"CVE-2024-0001", image:"apps/base"){Results{Tag}}}',
      '{CVEDiffListForImages(minuend:{Repo:"apps/derived", Tag:"1.0"}, subtrahend:{Repo:"apps/base", Tag:"1.0"}){CVEList{Id}}}',
    ]) {
      const { status, body } = await get(query);
      assert.equal(status, 200);
      assert.match(body.errors?.[0]?.message ?? '', /cve search is disabled/, query);
    }
  });

  it('stars and bookmarks are per user, and need read access', async () => {
    assert.equal(await userprefs('anonymous', 'action=toggleStar&repo=apps/web'), 403);
    assert.equal(await userprefs('bob', 'action=toggleStar&repo=private/secret'), 403);
    assert.equal(await userprefs('bob', 'action=toggleStar&repo=apps/nothing'), 404);
    assert.equal(await userprefs('bob', 'action=toggleStar&repo='), 404);
    assert.equal(await userprefs('bob', 'action=toggleLove&repo=apps/web'), 400);
    assert.equal(await userprefs('bob', 'repo=apps/web'), 400);
    const get405 = await fetch(`${server.url}/v2/_zot/ext/userprefs?action=toggleStar&repo=apps/web`, {
      headers: headersOf('bob'),
    });
    assert.equal(get405.status, 405);
    await get405.arrayBuffer();

    assert.equal(await userprefs('bob', 'action=toggleStar&repo=apps/web'), 200);
    assert.equal(await userprefs('bob', 'action=toggleBookmark&repo=apps/base'), 200);
    assert.equal(await userprefs('alice', 'action=toggleStar&repo=private/secret'), 200);

    const starred = '{StarredRepos{Page{TotalCount} Results{Name StarCount IsStarred}}}';
    const bookmarked = '{BookmarkedRepos{Results{Name IsBookmarked}}}';
    type Starred = { StarredRepos: ReposOut };
    assert.deepEqual((await data<Starred>(starred, 'bob')).StarredRepos.Results, [
      { Name: 'apps/web', StarCount: 1, IsStarred: true },
    ]);
    assert.deepEqual((await data<{ BookmarkedRepos: ReposOut }>(bookmarked, 'bob')).BookmarkedRepos.Results, [
      { Name: 'apps/base', IsBookmarked: true },
    ]);
    assert.deepEqual((await data<Starred>(starred, 'alice')).StarredRepos.Results, [
      { Name: 'private/secret', StarCount: 1, IsStarred: true },
    ]);
    assert.equal((await data<Starred>(starred, 'anonymous')).StarredRepos.Page.TotalCount, 0);
    const byStars = await search('{GlobalSearch(query:"", filter:{IsStarred:true}){Repos{Name}}}', 'bob');
    assert.deepEqual(byStars.Repos, [{ Name: 'apps/web' }]);

    assert.equal(await userprefs('bob', 'action=toggleStar&repo=apps/web'), 200);
    assert.equal((await data<Starred>(starred, 'bob')).StarredRepos.Page.TotalCount, 0);
  });

  it('counts downloads', async () => {
    const pulled = await getManifest(server.url, 'apps/derived', '1.0');
    assert.equal(pulled.status, 200);
    // Pulls are added to the database in batches: wait for the batch.
    let count = 0;
    for (let i = 0; i < 50 && count === 0; i++) {
      count = (await data<{ Image: ImageOut }>('{Image(image:"apps/derived:1.0"){DownloadCount}}')).Image
        .DownloadCount;
      if (count === 0) await sleep(200);
    }
    assert.equal(count, 1);
  });

  it('POST takes the query, variables and operation name', async () => {
    const res = await fetch(`${server.url}/v2/_zot/ext/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headersOf('bob') },
      body: JSON.stringify({
        query:
          'query Other { RepoListWithNewestImage { Page { TotalCount } } } query Find($q: String!, $page: PageInput) { GlobalSearch(query: $q, requestedPage: $page) { Repos { Name } } }',
        variables: { q: 'derived', page: { limit: 5, offset: 0 } },
        operationName: 'Find',
      }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { data: { GlobalSearch: { Repos: [{ Name: 'apps/derived' }] } } });
  });

  it('refuses too costly or too deep queries before running them', async () => {
    const costly = await get(
      '{ImageList(repo:""){Results{Manifests{Layers{Digest Size} History{Layer{Digest}}}}}}',
    );
    assert.equal(costly.status, 422);
    assert.equal(costly.body.errors?.[0]?.extensions?.code, 'COMPLEXITY_LIMIT_EXCEEDED');
    const aliases = Array.from(
      { length: 60 },
      (_, i) => `a${i}: RepoListWithNewestImage { Results { Name NewestImage { Tag Size } } }`,
    ).join(' ');
    const many = await get(`{${aliases}}`);
    assert.equal(many.status, 422);
    assert.equal(many.body.errors?.[0]?.extensions?.code, 'COMPLEXITY_LIMIT_EXCEEDED');
    const nested = 'fields{type{'.repeat(10) + 'name' + '}}'.repeat(10);
    const deep = await get(`{__schema{types{${nested}}}}`);
    assert.equal(deep.status, 422);
    // Only introspection's types nest this deep; graphql-js's own introspection-depth rule may
    // refuse it first.
    assert.ok(
      deep.body.errors?.some(
        (e) => e.extensions?.code === 'DEPTH_LIMIT_EXCEEDED' || /depth/i.test(e.message),
      ),
      JSON.stringify(deep.body),
    );
    // A small page of the same costly shape is fine.
    await data(
      '{ImageList(repo:"", requestedPage:{limit:5}){Results{Manifests{Layers{Digest Size} History{Layer{Digest}}}}}}',
    );
  });

  it('answers malformed requests with GraphQL errors, never a 500', async () => {
    const cases: [string, RequestInit][] = [
      ['?query=%7BGlobalSearch(', {}],
      ['?query=%7BNoSuchQuery%7D', {}],
      ['', {}],
      ['?query=%7BGlobalSearch(query%3A1)%7BPage%7BTotalCount%7D%7D%7D', {}],
      ['?query=%7BImage(image%3A%22noimage%22)%7BTag%7D%7D', {}],
      [
        '?query=%7BRepoListWithNewestImage(requestedPage%3A%7Blimit%3A-1%7D)%7BPage%7BTotalCount%7D%7D%7D',
        {},
      ],
      [
        '?query=query%20Q(%24q%3AString!)%7BGlobalSearch(query%3A%24q)%7BPage%7BTotalCount%7D%7D%7D&variables=%7B%7D',
        {},
      ],
      ['?query=%7BImageList(repo%3A%22x%22)%7BPage%7BTotalCount%7D%7D%7D&variables=nope', {}],
      ['', { method: 'POST', body: 'not json', headers: { 'content-type': 'application/json' } }],
      ['', { method: 'POST', body: '[1,2]', headers: { 'content-type': 'application/json' } }],
      ['', { method: 'POST', body: '{"query": 12}', headers: { 'content-type': 'application/json' } }],
      [
        '',
        {
          method: 'POST',
          body: '{"query": "mutation { x }"}',
          headers: { 'content-type': 'application/json' },
        },
      ],
    ];
    for (const [suffix, init] of cases) {
      const res = await fetch(`${server.url}/v2/_zot/ext/search${suffix}`, init);
      const text = await res.text();
      assert.ok(
        [200, 400, 422].includes(res.status),
        `${suffix} ${init.body as string}: ${res.status} ${text}`,
      );
      const body = JSON.parse(text) as GraphQLBody;
      assert.ok(
        Array.isArray(body.errors) && body.errors.length > 0 && typeof body.errors[0]!.message === 'string',
        text,
      );
    }
    const del = await fetch(`${server.url}/v2/_zot/ext/search`, { method: 'DELETE' });
    assert.equal(del.status, 405);
    await del.arrayBuffer();
  });

  it('discover lists the extension endpoints', async () => {
    const res = await fetch(`${server.url}/v2/_oci/ext/discover`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { extensions: { name: string; endpoints: string[] }[] };
    assert.equal(body.extensions[0]?.name, '_zot');
    assert.ok(body.extensions[0]?.endpoints.includes('/v2/_zot/ext/search'));
    assert.ok(body.extensions[0]?.endpoints.includes('/v2/_zot/ext/userprefs'));
  });
});
