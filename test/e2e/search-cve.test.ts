/**
 * The CVE side of zot's GraphQL search, with Berth's own scanner: Alpine images with a known
 * installed-package database are pushed, an OSV archive in the real format is served from
 * loopback, and the answers of `CVEListForImage`, `ImageListForCVE`, `ImageListWithCVEFixed`,
 * `CVEDiffListForImages` and the `Vulnerabilities` summaries are checked as a plain user and as an
 * admin: the vulnerable image in `private/**` shows for the admin only.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { makeImage, makeLayer, pushContent, type Image } from '../support/fixtures.js';
import { advisory, osvArchive, startOsvServer, type OsvServer } from '../support/osv.js';
import { apkInstalled, osRelease } from '../support/package-images.js';
import { startBerth, type RunningServer } from '../support/server.js';
import { writeHtpasswd } from '../support/htpasswd.js';

const PASSWORDS = { alice: 'alice-password', bob: 'bob-password' };
type Caller = 'anonymous' | 'bob' | 'alice';
const CVE = 'CVE-2024-1111';

function headersOf(caller: Caller): Record<string, string> {
  if (caller === 'anonymous') return {};
  return { Authorization: `Basic ${Buffer.from(`${caller}:${PASSWORDS[caller]}`).toString('base64')}` };
}

function alpineImage(opensslVersion: string): Image {
  const layer = makeLayer({
    files: [osRelease('alpine', '3.19.1'), apkInstalled([{ name: 'openssl', version: opensslVersion }])],
  });
  return makeImage({ layers: [layer] });
}

interface Summary {
  MaxSeverity: string;
  Count: number;
  HighCount: number;
}
interface ImagesOut {
  Page: { TotalCount: number; ItemCount: number };
  Results: { RepoName: string; Tag: string }[];
}
interface CveOut {
  Id: string;
  Severity: string;
  PackageList: { Name: string; InstalledVersion: string; FixedVersion: string }[];
}

describe('search extension: vulnerabilities (GraphQL)', () => {
  let server: RunningServer;
  let osv: OsvServer;
  let work: string;

  const ask = async (
    query: string,
    caller: Caller,
  ): Promise<{ data?: Record<string, unknown> | null; errors?: { message: string }[] }> => {
    const res = await fetch(`${server.url}/v2/_zot/ext/search?query=${encodeURIComponent(query)}`, {
      headers: headersOf(caller),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as { data?: Record<string, unknown> | null; errors?: { message: string }[] };
  };
  const data = async <T>(query: string, caller: Caller = 'bob'): Promise<T> => {
    const body = await ask(query, caller);
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data as T;
  };
  const summaryOf = async (image: string, caller: Caller = 'alice'): Promise<Summary> =>
    (
      await data<{ Image: { Vulnerabilities: Summary } }>(
        `{Image(image:"${image}"){Vulnerabilities{MaxSeverity Count HighCount}}}`,
        caller,
      )
    ).Image.Vulnerabilities;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-search-cve-'));
    osv = await startOsvServer({
      Alpine: osvArchive([
        advisory({
          id: CVE,
          ecosystem: 'Alpine:v3.19',
          name: 'openssl',
          fixed: '3.1.4-r5',
          severity: 'HIGH',
        }),
      ]),
    });
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
        extensions: {
          search: {
            enable: true,
            cve: { updateInterval: '24h', osvUrl: osv.url, osvEcosystems: ['Alpine'] },
          },
        },
      },
    });
    const admin = { headers: headersOf('alice') };
    const vulnerable = alpineImage('3.1.4-r0');
    await pushContent(server.url, 'apps/alpine', vulnerable, 'old', admin);
    await pushContent(server.url, 'apps/alpine', alpineImage('3.1.4-r5'), 'new', admin);
    await pushContent(server.url, 'private/alpine', vulnerable, 'old', admin);
    // Scans run in the background after each push: wait until all three are done.
    for (const image of ['apps/alpine:old', 'apps/alpine:new', 'private/alpine:old']) {
      for (let i = 0; i < 300 && (await summaryOf(image)).MaxSeverity === ''; i++) await sleep(200);
    }
  });

  after(async () => {
    await server?.stop();
    await osv?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('summarises every image and lists its CVEs with packages and fixed versions', async () => {
    assert.deepEqual(await summaryOf('apps/alpine:old', 'bob'), {
      MaxSeverity: 'HIGH',
      Count: 1,
      HighCount: 1,
    });
    assert.deepEqual(await summaryOf('apps/alpine:new', 'bob'), {
      MaxSeverity: 'NONE',
      Count: 0,
      HighCount: 0,
    });
    const list = await data<{
      CVEListForImage: { Tag: string; CVEList: CveOut[]; Summary: Summary; Page: { TotalCount: number } };
    }>(
      '{CVEListForImage(image:"apps/alpine:old", requestedPage:{limit:10 offset:0}){Tag Page{TotalCount} Summary{MaxSeverity Count HighCount} CVEList{Id Severity PackageList{Name InstalledVersion FixedVersion}}}}',
    );
    assert.equal(list.CVEListForImage.Tag, 'old');
    assert.equal(list.CVEListForImage.Page.TotalCount, 1);
    assert.deepEqual(list.CVEListForImage.CVEList, [
      {
        Id: CVE,
        Severity: 'HIGH',
        PackageList: [{ Name: 'openssl', InstalledVersion: '3.1.4-r0', FixedVersion: '3.1.4-r5' }],
      },
    ]);
    const excluded = await data<{ CVEListForImage: { CVEList: CveOut[] } }>(
      `{CVEListForImage(image:"apps/alpine:old", excludedCVE:"${CVE}"){CVEList{Id}}}`,
    );
    assert.deepEqual(excluded.CVEListForImage.CVEList, []);
  });

  it('ImageListForCVE finds affected images the caller may read, and only those', async () => {
    const query = `{ImageListForCVE(id:"${CVE}"){Page{TotalCount ItemCount} Results{RepoName Tag}}}`;
    const forBob = (await data<{ ImageListForCVE: ImagesOut }>(query, 'bob')).ImageListForCVE;
    assert.deepEqual(forBob.Results, [{ RepoName: 'apps/alpine', Tag: 'old' }]);
    assert.equal(forBob.Page.TotalCount, 1);
    assert.equal(
      (await data<{ ImageListForCVE: ImagesOut }>(query, 'anonymous')).ImageListForCVE.Page.TotalCount,
      1,
    );
    const forAlice = (await data<{ ImageListForCVE: ImagesOut }>(query, 'alice')).ImageListForCVE;
    assert.deepEqual(forAlice.Results.map((r) => `${r.RepoName}:${r.Tag}`).sort(), [
      'apps/alpine:old',
      'private/alpine:old',
    ]);
  });

  it('ImageListWithCVEFixed and CVEDiffListForImages', async () => {
    const fixed = await data<{ ImageListWithCVEFixed: ImagesOut }>(
      `{ImageListWithCVEFixed(id:"${CVE}", image:"apps/alpine"){Results{RepoName Tag}}}`,
    );
    assert.deepEqual(fixed.ImageListWithCVEFixed.Results, [{ RepoName: 'apps/alpine', Tag: 'new' }]);
    const hiddenFixed = await data<{ ImageListWithCVEFixed: ImagesOut }>(
      `{ImageListWithCVEFixed(id:"${CVE}", image:"private/alpine"){Page{TotalCount}}}`,
    );
    assert.equal(hiddenFixed.ImageListWithCVEFixed.Page.TotalCount, 0);
    const diff = await data<{
      CVEDiffListForImages: { Minuend: { Repo: string; Tag: string }; CVEList: { Id: string }[] };
    }>(
      '{CVEDiffListForImages(minuend:{Repo:"apps/alpine", Tag:"old"}, subtrahend:{Repo:"apps/alpine", Tag:"new"}){Minuend{Repo Tag} CVEList{Id}}}',
    );
    assert.deepEqual(diff.CVEDiffListForImages.Minuend, { Repo: 'apps/alpine', Tag: 'old' });
    assert.deepEqual(diff.CVEDiffListForImages.CVEList, [{ Id: CVE }]);
  });

  it('answers a hidden image like a missing one', async () => {
    const hidden = await ask('{CVEListForImage(image:"private/alpine:old"){CVEList{Id}}}', 'bob');
    const missing = await ask('{CVEListForImage(image:"apps/nothing:old"){CVEList{Id}}}', 'bob');
    assert.deepEqual(
      hidden.errors?.map((e) => e.message),
      missing.errors?.map((e) => e.message),
    );
    assert.ok((hidden.errors?.length ?? 0) > 0);
    const diff = await ask(
      '{CVEDiffListForImages(minuend:{Repo:"private/alpine", Tag:"old"}, subtrahend:{Repo:"apps/alpine", Tag:"new"}){CVEList{Id}}}',
      'bob',
    );
    assert.match(diff.errors?.[0]?.message ?? '', /not found/);
    const summary = await data<{ CVEListForImage: { Summary: Summary } }>(
      '{CVEListForImage(image:"private/alpine:old"){Summary{MaxSeverity Count HighCount}}}',
      'alice',
    );
    assert.deepEqual(summary.CVEListForImage.Summary, { MaxSeverity: 'HIGH', Count: 1, HighCount: 1 });
  });
});
