import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ASSET_PREFIX, defaultStaticDir, StaticAssets } from './assets.js';
import { isPagePath } from './pages.js';

/** The browser-side router, a plain ES module without DOM use, loaded from the source tree. */
interface PathsModule {
  route: (location: { pathname: string }) => { page: string; params: Record<string, string> };
  safeNext: (value: unknown) => string;
  paths: {
    repository: (name: string) => string;
    tag: (name: string, tag: string) => string;
    digest: (name: string, digest: string) => string;
  };
}
const pathsModule = (): Promise<PathsModule> =>
  import(new URL('lib/paths.js', `file://${defaultStaticDir()}/`).href) as Promise<PathsModule>;

describe('UI static files', () => {
  it('serves the real files under a versioned folder, with every module preloaded', () => {
    const assets = new StaticAssets();
    assert.match(assets.version, /^[0-9a-f]{16}$/);
    const html = assets.page.body.toString('utf8');
    assert.ok(html.includes(`src="${ASSET_PREFIX}${assets.version}/app.js"`));
    assert.ok(
      html.includes(`<link rel="modulepreload" href="${ASSET_PREFIX}${assets.version}/pages/login.js" />`),
    );
    assert.ok(!html.includes('{{'), 'every placeholder filled');
    const app = assets.lookup(`${ASSET_PREFIX}${assets.version}/app.js`);
    assert.equal(app?.current, true);
    assert.equal(app?.asset.contentType, 'text/javascript; charset=utf-8');
    assert.ok(app?.asset.gzip && gunzipSync(app.asset.gzip).equals(app.asset.body));
  });

  it('still serves files to a tab opened before an upgrade, without caching them forever', () => {
    const assets = new StaticAssets();
    assert.equal(assets.lookup(`${ASSET_PREFIX}0123456789abcdef/styles.css`)?.current, false);
  });

  it('refuses paths outside the folder, the raw index.html and unknown files', () => {
    const assets = new StaticAssets();
    const base = `${ASSET_PREFIX}${assets.version}/`;
    for (const bad of [
      `${base}../assets.js`,
      `${base}lib/../app.js`,
      `${base}index.html`,
      `${base}nope.js`,
      `${base}`,
      ASSET_PREFIX,
      `${ASSET_PREFIX}app.js`,
    ]) {
      assert.equal(assets.lookup(bad), undefined, bad);
    }
  });

  it('changes version when any file changes', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'berth-ui-assets-'));
    await mkdir(path.join(dir, 'lib'));
    await writeFile(path.join(dir, 'index.html'), '<script src="{{ASSETS}}app.js"></script>{{PRELOADS}}');
    await writeFile(path.join(dir, 'app.js'), 'import "./lib/a.js";');
    await writeFile(path.join(dir, 'lib', 'a.js'), 'export const a = 1;');
    const before = new StaticAssets(dir);
    await writeFile(path.join(dir, 'lib', 'a.js'), 'export const a = 2;');
    const after = new StaticAssets(dir);
    assert.notEqual(before.version, after.version);
    assert.equal(
      after.page.body.toString(),
      `<script src="${ASSET_PREFIX}${after.version}/app.js"></script><link rel="modulepreload" href="${ASSET_PREFIX}${after.version}/lib/a.js" />`,
    );
    await rm(dir, { recursive: true, force: true });
  });

  it('answers zot UI paths with the page, and nothing else', () => {
    for (const page of [
      '/login',
      '/home',
      '/explore',
      '/image/library%2Falpine',
      '/image/a/b/tag/1',
      '/user/apikey',
    ]) {
      assert.ok(isPagePath(page), page);
    }
    for (const other of [
      '/v2/',
      '/metrics',
      '/zot/auth/login',
      '/homer',
      '/_berth/ui/api/session',
      '/favicon.ico',
    ]) {
      assert.ok(!isPagePath(other), other);
    }
  });
});

describe('UI addresses (browser-side router)', () => {
  it('reads repository, tag and digest pages, with encoded or plain slashes', async () => {
    const { route } = await pathsModule();
    assert.deepEqual(route({ pathname: '/image/team%2Fapp' }), {
      page: 'repository',
      params: { name: 'team/app' },
    });
    assert.deepEqual(route({ pathname: '/image/team/app' }), {
      page: 'repository',
      params: { name: 'team/app' },
    });
    assert.deepEqual(route({ pathname: '/image/team%2Fapp/tag/v1.2' }), {
      page: 'image',
      params: { name: 'team/app', reference: 'v1.2', by: 'tag' },
    });
    assert.deepEqual(route({ pathname: '/image/team/app/tag/latest' }), {
      page: 'image',
      params: { name: 'team/app', reference: 'latest', by: 'tag' },
    });
    assert.deepEqual(route({ pathname: '/image/a%2Ftag%2Fb/tag/x' }), {
      page: 'image',
      params: { name: 'a/tag/b', reference: 'x', by: 'tag' },
    });
    assert.deepEqual(route({ pathname: '/image/x/digest/sha256%3Aabc' }), {
      page: 'image',
      params: { name: 'x', reference: 'sha256:abc', by: 'digest' },
    });
    assert.equal(route({ pathname: '/home/' }).page, 'repositories');
    assert.equal(route({ pathname: '/explore' }).page, 'repositories');
    assert.equal(route({ pathname: '/user/apikey' }).page, 'apiKeys');
    assert.equal(route({ pathname: '/image/' }).page, 'notFound');
    assert.equal(route({ pathname: '/whatever' }).page, 'notFound');
  });

  it('writes addresses that read back the same', async () => {
    const { route, paths } = await pathsModule();
    const name = 'team/tag/app';
    assert.deepEqual(route({ pathname: paths.repository(name) }).params, { name });
    assert.deepEqual(route({ pathname: paths.tag(name, 'v1') }).params, { name, reference: 'v1', by: 'tag' });
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(route({ pathname: paths.digest(name, digest) }).params, {
      name,
      reference: digest,
      by: 'digest',
    });
  });

  it('only returns to paths of this site after sign-in', async () => {
    const { safeNext } = await pathsModule();
    assert.equal(safeNext('/image/x'), '/image/x');
    for (const bad of [
      'https://evil.example/',
      '//evil.example/',
      '/\\evil.example',
      'javascript:alert(1)',
      '/login?next=/x',
      undefined,
    ]) {
      assert.equal(safeNext(bad), '/home', String(bad));
    }
  });
});
