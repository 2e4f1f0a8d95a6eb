/**
 * `berth migrate FROM TO` and `berth verify --online`, driven as a person would: real `berth`
 * processes, real PostgreSQL and Ceph RGW (test/support/services.ts; CI=true makes a missing engine
 * fail), content pushed over HTTP or laid out on disk the way zot does, and the target checked by
 * pulling everything back from a `berth serve` of it and comparing digests.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import bcrypt from 'bcryptjs';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/index.js';
import { parseDigest } from '../../src/oci/digest.js';
import { openRegistry } from '../../src/open-registry.js';
import { createS3Client } from '../../src/storage/s3/client.js';
import { requireCommand, run, type RunResult } from '../support/clients.js';
import {
  ACCEPT_ALL_MANIFESTS,
  descriptorOf,
  getBlob,
  getManifest,
  makeArtifact,
  makeImage,
  makeIndex,
  makeLayer,
  pushContent,
  sha256,
  writeOciLayout,
  type Blob,
  type Content,
  type LayoutEntry,
} from '../support/fixtures.js';
import { UI_HEADER } from '../support/oidc.js';
import { dropSchemas, freshSchemaName } from '../support/postgres.js';
import { CLI, PROJECT_ROOT, startBerth } from '../support/server.js';
import { postgresService, s3Service, type S3Service } from '../support/services.js';

const TIMEOUT = { timeout: 300_000 };
const postgres = postgresService();
const s3 = s3Service();

/** What a repository must hold after the migration: every manifest, every blob, the tags. */
interface Expected {
  tags: Map<string, string>;
  manifests: Map<string, Blob>;
  blobs: Map<string, Blob>;
  /** subject digest → referrer digests */
  referrers: Map<string, string[]>;
}

class Store {
  readonly repos = new Map<string, Expected>();
  add(repo: string, content: Content, tags: string[] = []): void {
    let e = this.repos.get(repo);
    if (!e)
      this.repos.set(
        repo,
        (e = { tags: new Map(), manifests: new Map(), blobs: new Map(), referrers: new Map() }),
      );
    for (const b of content.blobs) e.blobs.set(b.digest, b);
    for (const m of [...content.manifests, content.manifest]) e.manifests.set(m.digest, m);
    for (const t of tags) e.tags.set(t, content.manifest.digest);
    const subject = (JSON.parse(content.manifest.bytes.toString()) as { subject?: { digest: string } })
      .subject;
    if (subject)
      e.referrers.set(subject.digest, [...(e.referrers.get(subject.digest) ?? []), content.manifest.digest]);
  }
}

function berth(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args], { env, timeoutMs: 240_000 });
}

async function writeConfig(dir: string, name: string, storage: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, `${name}.json`);
  await writeFile(
    file,
    JSON.stringify({ distSpecVersion: '1.1.0', storage, http: { address: '127.0.0.1', port: '0' } }),
  );
  return file;
}

/** Every file below `root` with its size and modification time: the source must not change. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else {
        const info = await stat(full);
        out[path.relative(root, full)] = `${info.size}@${info.mtimeMs}`;
      }
    }
  };
  await walk(root);
  return out;
}

/**
 * A source store as users have them: repositories pushed through Berth (an index with children,
 * Docker and OCI images, tags, a referrer, layers shared between repositories), and repositories
 * laid out by zot (children listed in index.json) or by another tool (children not listed), with
 * zot's leftovers beside them.
 */
async function populateSource(root: string): Promise<Store> {
  const store = new Store();
  const server = await startBerth({ root, cleanup: false });
  try {
    const a = makeImage({ layerSizes: [3000, 70_000] });
    const b = makeImage({ format: 'docker', layerSizes: [5000] });
    const signature = makeArtifact({
      subject: descriptorOf(a.manifest),
      artifactType: 'application/vnd.example.sig',
    });
    const multi = makeIndex({ layerSizes: [2000] });
    const shared = makeImage({ layers: a.layers });
    for (const [repo, content, tags] of [
      ['team/app', a, ['v1']],
      ['team/app', b, ['v2']],
      ['team/app', signature, []],
      ['team/multi', multi, ['latest', 'stable']],
      ['solo', shared, ['1.0']],
    ] as const) {
      await pushContent(server.url, repo, content, tags[0]);
      for (const extra of tags.slice(1)) {
        const put = await fetch(`${server.url}/v2/${repo}/manifests/${extra}`, {
          method: 'PUT',
          headers: { 'content-type': content.manifest.mediaType },
          body: content.manifest.bytes,
        });
        assert.equal(put.status, 201);
      }
      store.add(repo, content, [...tags]);
    }
  } finally {
    await server.stop();
  }
  // zot's layout: the index's children are entries of index.json too (untagged).
  const zotImage = makeImage({ layerSizes: [4000] });
  const zotIndex = makeIndex({ layerSizes: [1500] });
  const entries: LayoutEntry[] = [
    { content: zotImage, tag: '3.19' },
    ...zotIndex.images.map((image) => ({ content: image })),
    { content: zotIndex, tag: 'multi' },
  ];
  await writeOciLayout(path.join(root, 'zot/base'), entries);
  store.add('zot/base', zotImage, ['3.19']);
  store.add('zot/base', zotIndex, ['multi']);
  // Another tool's layout: only the index in index.json, its children only as blobs.
  const bare = makeIndex({ layerSizes: [1000] });
  await writeOciLayout(path.join(root, 'tools/bare'), [{ content: bare, tag: 'all' }]);
  store.add('tools/bare', bare, ['all']);
  // zot's own files, which are no repositories.
  await writeFile(path.join(root, 'cache.db'), 'not a repository');
  await mkdir(path.join(root, 'zot/base/.uploads'), { recursive: true });
  await writeFile(path.join(root, 'zot/base/.uploads/3f1c'), 'a stale upload');
  return store;
}

/** Pulls everything back from a server of the target and compares digests. */
async function assertServes(url: string, store: Store): Promise<void> {
  const catalog = (await (await fetch(`${url}/v2/_catalog?n=1000`)).json()) as { repositories: string[] };
  assert.deepEqual(catalog.repositories, [...store.repos.keys()].sort());
  for (const [repo, e] of store.repos) {
    const tags = (await (await fetch(`${url}/v2/${repo}/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags.sort(), [...e.tags.keys()].sort(), `${repo} tags`);
    for (const [tag, digest] of e.tags) {
      const m = await getManifest(url, repo, tag);
      assert.equal(m.status, 200, `${repo}:${tag}`);
      assert.equal(m.digestHeader, digest, `${repo}:${tag}`);
      assert.equal(sha256(m.bytes), digest);
    }
    for (const digest of e.manifests.keys()) {
      const m = await getManifest(url, repo, digest, { accept: ACCEPT_ALL_MANIFESTS });
      assert.equal(m.status, 200, `${repo}@${digest}`);
      assert.equal(sha256(m.bytes), digest);
    }
    for (const digest of e.blobs.keys()) assert.equal(sha256(await getBlob(url, repo, digest)), digest);
    for (const [subject, referrers] of e.referrers) {
      const res = await fetch(`${url}/v2/${repo}/referrers/${subject}`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { manifests: { digest: string }[] };
      assert.deepEqual(body.manifests.map((d) => d.digest).sort(), [...referrers].sort());
    }
  }
}

type AccountCounts = Record<
  'users' | 'userOrigins' | 'apiKeys' | 'keyGroups' | 'userPrefs' | 'downloadCounts',
  number
>;

interface Report {
  accounts: {
    skipped?: string;
    inSource: AccountCounts;
    copied: AccountCounts;
    alreadyPresent: AccountCounts;
    onlyInTarget: { id: string }[];
  };
  repositories: number;
  copied: { blobs: number; mounted: number; manifests: number; tags: number; bytes: number };
  alreadyPresent: { blobs: number; manifests: number; tags: number; bytes: number };
  failures: { message: string }[];
  missingInSource: unknown[];
  seconds: number;
}

function reportOf(result: RunResult): Report {
  assert.equal(result.code, 0, `${result.command}\n${result.stderr}\n${result.stdout}`);
  return JSON.parse(result.stdout) as Report;
}

function countAll(store: Store): { manifests: number; tags: number } {
  let manifests = 0;
  let tags = 0;
  for (const e of store.repos.values()) {
    manifests += e.manifests.size;
    tags += e.tags.size;
  }
  return { manifests, tags };
}

async function makeBucket(service: S3Service, bucket: string): Promise<void> {
  const client = createS3Client({
    region: service.region,
    endpoint: service.endpoint,
    forcePathStyle: true,
    accessKey: service.accessKey,
    secretKey: service.secretKey,
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
}

function s3Storage(
  service: S3Service,
  bucket: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: 's3',
    region: service.region,
    regionendpoint: service.endpoint,
    bucket,
    rootdirectory: '/berth',
    accesskey: service.accessKey,
    secretkey: service.secretKey,
    ...extra,
  };
}

/** Why the S3 cases skip on a branch where the registry does not serve S3 yet (s1-s3serve adds it). */
const basic = (user: string, password: string): Record<string, string> => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

/**
 * A Berth with accounts, as a team has one: htpasswd users, API keys (a service account's key made
 * with `berth keys create` and a group, a user's own key made over HTTP), a browser session, a
 * star. Its `http` section is the target's too, as the migration path says.
 */
interface AccountsSource {
  root: string;
  http: Record<string, unknown>;
  extensions: Record<string, unknown>;
  ciKey: string;
  aliceKey: string;
  aliceSession: string;
}

async function populateAccountsSource(dir: string): Promise<AccountsSource> {
  const root = path.join(dir, 'accounts-source');
  const htpasswd = path.join(dir, 'accounts-htpasswd');
  await writeFile(htpasswd, `alice:${bcrypt.hashSync('alice-secret', 4)}\n`);
  const rw = ['read', 'create', 'update'];
  const http = {
    address: '127.0.0.1',
    port: '0',
    auth: { htpasswd: { path: htpasswd }, apikey: true },
    accessControl: {
      repositories: {
        'ci/**': {
          policies: [
            { groups: ['artifact-workloads'], actions: rw },
            { users: ['alice'], actions: rw },
          ],
        },
      },
    },
  };
  const extensions = { search: { enable: true } };
  const configFile = path.join(dir, 'accounts-source.json');
  await writeFile(
    configFile,
    JSON.stringify({ distSpecVersion: '1.1.0', storage: { rootDirectory: root }, http, extensions }),
  );
  const created = await berth([
    'keys',
    'create',
    configFile,
    '--user',
    'zot-ci',
    '--groups',
    'artifact-workloads',
    '--expires',
    '90d',
    '--label',
    'ci',
  ]);
  assert.equal(created.code, 0, created.stderr);
  const ciKey = created.stdout.trim();

  const server = await startBerth({ root, config: { http, extensions }, cleanup: false });
  try {
    const image = makeImage({ layerSizes: [4096] });
    await pushContent(server.url, 'ci/app', image, 'v1', { headers: basic('zot-ci', ciKey) });
    // alice signs the web UI in (a session, and her user record), makes a key, stars ci/app.
    const signIn = await fetch(`${server.url}/v2/`, {
      headers: { ...UI_HEADER, ...basic('alice', 'alice-secret') },
    });
    assert.equal(signIn.status, 200);
    const aliceSession = signIn.headers
      .getSetCookie()
      .find((c) => c.startsWith('session='))!
      .split(';')[0]!;
    const key = await fetch(`${server.url}/zot/auth/apikey`, {
      method: 'POST',
      headers: { ...basic('alice', 'alice-secret'), 'Content-Type': 'application/json' },
      body: '{"label":"laptop"}',
    });
    assert.equal(key.status, 201);
    const aliceKey = ((await key.json()) as { apiKey: string }).apiKey;
    const star = await fetch(`${server.url}/v2/_zot/ext/userprefs?action=toggleStar&repo=ci/app`, {
      method: 'PUT',
      headers: basic('alice', aliceKey),
    });
    assert.equal(star.status, 200);
    assert.equal(
      (await fetch(`${server.url}/zot/auth/apikey`, { headers: { ...UI_HEADER, Cookie: aliceSession } }))
        .status,
      200,
    );
    return { root, http, extensions, ciKey, aliceKey, aliceSession };
  } finally {
    await server.stop();
  }
}

/**
 * Migrates the accounts source into `targetStorage`, twice, and proves on a server of the target
 * that the accounts came along: the service account's key pulls and pushes with skopeo (its
 * group came too), alice's key finds her star, a wrong key and the source's browser session are
 * refused, and the token signing key stayed behind.
 */
async function migrateAccounts(
  dir: string,
  name: string,
  source: AccountsSource,
  targetStorage: Record<string, unknown> & { rootDirectory: string },
): Promise<void> {
  const from = await writeConfig(dir, `from-${name}`, { rootDirectory: source.root });
  const to = path.join(dir, `to-${name}.json`);
  await writeFile(
    to,
    JSON.stringify({
      distSpecVersion: '1.1.0',
      storage: targetStorage,
      http: source.http,
      extensions: source.extensions,
    }),
  );
  const before = await snapshot(source.root);
  const report = reportOf(await berth(['migrate', from, to, '--json']));
  assert.deepEqual(report.failures, []);
  const { copied } = report.accounts;
  assert.equal(copied.apiKeys, 2, JSON.stringify(report.accounts));
  assert.equal(copied.keyGroups, 1, "the service account key's groups");
  assert.equal(copied.userPrefs, 1, "alice's star");
  assert.equal(copied.users, 1, "alice's sign-in");
  assert.ok(copied.userOrigins >= 1, 'alice signs in with a password');
  assert.deepEqual(report.accounts.onlyInTarget, []);
  assert.deepEqual(
    await snapshot(source.root),
    before,
    'the source folder, its database included, is only read',
  );
  assert.ok(
    !existsSync(path.join(targetStorage.rootDirectory, '_berth', 'token-signing-keys.json')),
    'the token signing key is not copied',
  );

  const again = await berth(['migrate', from, to, '--json']);
  const second = reportOf(again).accounts;
  assert.deepEqual(Object.values(second.copied), [0, 0, 0, 0, 0, 0], 'a second run writes no account again');
  assert.deepEqual(second.alreadyPresent, second.inSource);
  const human = await berth(['migrate', from, to]);
  assert.match(human.stdout, /^ {4}API keys +0 copied, 2 already in the target$/m);
  assert.match(human.stdout, /up to date/);

  const server = await startBerth({
    root: targetStorage.rootDirectory,
    config: { storage: targetStorage, http: source.http, extensions: source.extensions },
    cleanup: false,
  });
  try {
    const work = await mkdtemp(path.join(dir, `skopeo-${name}-`));
    const policy = path.join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const skopeo = (args: string[]): Promise<RunResult> =>
      run(requireCommand('skopeo'), ['--policy', policy, ...args], {
        env: { HOME: work, REGISTRY_AUTH_FILE: path.join(work, 'auth.json') },
        timeoutMs: 120_000,
      });
    const creds = `zot-ci:${source.ciKey}`;
    const pulled = await skopeo([
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      creds,
      `docker://${server.host}/ci/app:v1`,
      `oci:${path.join(work, 'pulled')}:v1`,
    ]);
    assert.equal(pulled.code, 0, `the same key pulls from the target: ${pulled.stderr}`);
    const layout = await writeOciLayout(path.join(work, 'new'), [
      { content: makeImage({ layerSizes: [2048] }), tag: 'v1' },
    ]);
    const pushed = await skopeo([
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      creds,
      `oci:${layout}:v1`,
      `docker://${server.host}/ci/pushed:v1`,
    ]);
    assert.equal(pushed.code, 0, `the same key, with its group, pushes to the target: ${pushed.stderr}`);
    const wrong = await fetch(`${server.url}/v2/ci/app/manifests/v1`, {
      headers: basic('zot-ci', `${source.ciKey}x`),
    });
    assert.equal(wrong.status, 401);

    const starred = await fetch(
      `${server.url}/v2/_zot/ext/search?query=${encodeURIComponent('{StarredRepos{Results{Name StarCount IsStarred}}}')}`,
      { headers: basic('alice', source.aliceKey) },
    );
    assert.equal(starred.status, 200);
    assert.deepEqual(
      ((await starred.json()) as { data: { StarredRepos: { Results: unknown[] } } }).data.StarredRepos
        .Results,
      [{ Name: 'ci/app', StarCount: 1, IsStarred: true }],
    );
    const session = await fetch(`${server.url}/zot/auth/apikey`, {
      headers: { ...UI_HEADER, Cookie: source.aliceSession },
    });
    assert.equal(session.status, 401, 'browser sessions are not copied: people sign in again');
  } finally {
    await server.stop();
  }
}

if (postgres.skip !== undefined) {
  describe('berth migrate and verify --online', { skip: postgres.skip }, () => undefined);
} else {
  const url = postgres.service;
  describe('berth migrate and verify --online', () => {
    const schemas: string[] = [];
    let dir: string;
    let sourceRoot: string;
    let store: Store;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'berth-migrate-'));
      sourceRoot = path.join(dir, 'source');
      store = await populateSource(sourceRoot);
    });
    after(async () => {
      await dropSchemas(url, schemas);
      await rm(dir, { recursive: true, force: true });
    });
    const pgCache = (): Record<string, unknown> => {
      const schema = freshSchemaName();
      schemas.push(schema);
      return { remoteCache: true, cacheDriver: { name: 'postgres', url, schema } };
    };
    /** A fresh bucket on the test's Ceph and the S3 + PostgreSQL storage section that uses it. */
    const s3Target = async (
      bucket: string,
      stateDir: string,
    ): Promise<{ rootDirectory: string } & Record<string, unknown>> => {
      await makeBucket(s3.service!, bucket);
      return {
        rootDirectory: path.join(dir, stateDir),
        storageDriver: s3Storage(s3.service!, bucket),
        ...pgCache(),
      };
    };

    it(
      'copies a filesystem store with zot layouts into filesystem + PostgreSQL; a server of the target serves every digest',
      TIMEOUT,
      async (t) => {
        const from = await writeConfig(dir, 'from', { rootDirectory: sourceRoot });
        const targetStorage = { rootDirectory: path.join(dir, 'fs-pg'), ...pgCache() };
        const to = await writeConfig(dir, 'to-fs-pg', targetStorage);
        const before = await snapshot(sourceRoot);

        const dry = await berth(['migrate', from, to, '--dry-run']);
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(dry.stdout, /^team\/app: \d+ blobs \(.*\), 3 manifests, 2 tags to copy$/m);
        assert.match(dry.stdout, new RegExp(`tag {7}v1 -> ${store.repos.get('team/app')!.tags.get('v1')}`));
        assert.ok(!existsSync(path.join(dir, 'fs-pg', 'team')), 'a dry run copies nothing');

        const report = reportOf(await berth(['migrate', from, to, '--json']));
        const all = countAll(store);
        assert.equal(report.repositories, store.repos.size);
        assert.equal(report.copied.manifests, all.manifests);
        assert.equal(report.copied.tags, all.tags);
        assert.ok(
          report.copied.mounted > 0,
          'layers shared between repositories are mounted, not copied again',
        );
        assert.deepEqual(report.failures, []);
        assert.deepEqual(report.missingInSource, []);
        assert.equal(report.accounts.skipped, undefined, "Berth's own database is read");
        t.diagnostic(`fs -> fs+pg: ${report.copied.bytes} bytes in ${report.seconds.toFixed(2)} s`);
        assert.deepEqual(await snapshot(sourceRoot), before, 'the source folder is only read');

        const again = await berth(['migrate', from, to]);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stdout, /up to date: the target already holds everything of this source/);

        const server = await startBerth({
          config: { storage: targetStorage },
          root: targetStorage.rootDirectory,
          cleanup: false,
        });
        try {
          await assertServes(server.url, store);
        } finally {
          await server.stop();
        }
      },
    );

    /** Made once, for both targets. */
    let accountsSource: Promise<AccountsSource> | undefined;

    it(
      'carries the accounts into filesystem + PostgreSQL: the same API key pulls and pushes on the target, stars come along, sessions and the signing key stay behind',
      TIMEOUT,
      async () => {
        const source = await (accountsSource ??= populateAccountsSource(dir));
        await migrateAccounts(dir, 'accounts-fs-pg', source, {
          rootDirectory: path.join(dir, 'accounts-fs-pg'),
          ...pgCache(),
        });
      },
    );

    it('carries the accounts into S3 + PostgreSQL', TIMEOUT, async (t) => {
      if (s3.skip !== undefined) return t.skip(s3.skip);
      const targetStorage = await s3Target(`berth-migrate-accounts-${process.pid}`, 'accounts-s3-state');
      const source = await (accountsSource ??= populateAccountsSource(dir));
      await migrateAccounts(dir, 'accounts-s3-pg', source, targetStorage);
    });

    it('copies into S3 + PostgreSQL; a server of the target serves every digest', TIMEOUT, async (t) => {
      if (s3.skip !== undefined) return t.skip(s3.skip);
      const targetStorage = await s3Target(`berth-migrate-${process.pid}`, 's3-state');
      const from = await writeConfig(dir, 'from-s3', { rootDirectory: sourceRoot });
      const to = await writeConfig(dir, 'to-s3-pg', targetStorage);
      const report = reportOf(await berth(['migrate', from, to, '--json']));
      assert.equal(report.copied.manifests, countAll(store).manifests);
      t.diagnostic(`fs -> s3+pg: ${report.copied.bytes} bytes in ${report.seconds.toFixed(2)} s`);
      const again = await berth(['migrate', from, to]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /up to date: the target already holds everything of this source/);
      const server = await startBerth({
        config: { storage: targetStorage },
        root: targetStorage.rootDirectory,
        cleanup: false,
      });
      try {
        await assertServes(server.url, store);
      } finally {
        await server.stop();
      }
    });

    /** Four repositories of three 6 MiB layers, laid out once for both targets. */
    let bigSource: Promise<{ root: string; store: Store }> | undefined;
    const makeBigSource = async (): Promise<{ root: string; store: Store }> => {
      const root = path.join(dir, 'big-source');
      const store = new Store();
      for (let r = 0; r < 4; r++) {
        const image = makeImage({
          layers: [0, 1, 2].map((i) =>
            makeLayer({ size: 6 * 1024 * 1024, seed: `big-${r}-${i}-${process.pid}` }),
          ),
        });
        await writeOciLayout(path.join(root, `big/r${r}`), [{ content: image, tag: 'v1' }]);
        store.add(`big/r${r}`, image, ['v1']);
      }
      return { root, store };
    };

    /**
     * Kills a migration with SIGKILL as soon as the target's first repository holds one blob (asked
     * of the target's own registry services, whatever its layout), runs it again, and checks that
     * the second run kept the first one's blobs, copied the rest, and that a server of the target
     * serves everything.
     */
    async function killAndResume(
      t: TestContext,
      name: string,
      targetStorage: Record<string, unknown> & { rootDirectory: string },
    ): Promise<void> {
      const source = await (bigSource ??= makeBigSource());
      const from = await writeConfig(dir, `from-${name}`, { rootDirectory: source.root });
      const to = await writeConfig(dir, `to-${name}`, targetStorage);
      const config = parseConfig(
        { distSpecVersion: '1.1.0', storage: targetStorage },
        { baseDir: dir },
      ).config;
      const target = await openRegistry(config, pino({ level: 'silent' }));
      const first = [...source.store.repos.get('big/r0')!.blobs.keys()].map((d) => parseDigest(d));
      const landed = async (): Promise<boolean> => {
        for (const digest of first) if (await target.registry.blobs.stat('big/r0', digest)) return true;
        return false;
      };
      const child = spawn(process.execPath, [CLI, 'migrate', from, to, '--jobs', '1'], { stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once('exit', (_code, signal) => resolve(signal)),
      );
      try {
        for (let i = 0; i < 6000 && child.exitCode === null && !(await landed()); i++)
          await new Promise((resolve) => setTimeout(resolve, 10));
      } finally {
        child.kill('SIGKILL');
        await target.close();
      }
      assert.equal(await exited, 'SIGKILL', 'the first run was still copying when it was killed');

      const resumed = await berth(['migrate', from, to, '--json']);
      const report = reportOf(resumed);
      assert.ok(report.alreadyPresent.blobs >= 1, `the first run's blobs were kept: ${resumed.stdout}`);
      assert.ok(report.copied.blobs >= 1, 'the second run copied the rest');
      assert.equal(report.alreadyPresent.blobs + report.copied.blobs + report.copied.mounted, 4 * 4);
      t.diagnostic(
        `${name} resumed: ${report.copied.bytes} bytes in ${report.seconds.toFixed(2)} s (${(report.copied.bytes / 1048576 / report.seconds).toFixed(1)} MiB/s)`,
      );
      const human = await berth(['migrate', from, to]);
      assert.match(human.stdout, /up to date/);

      const server = await startBerth({
        config: { storage: targetStorage },
        root: targetStorage.rootDirectory,
        cleanup: false,
      });
      try {
        await assertServes(server.url, source.store);
      } finally {
        await server.stop();
      }
    }

    it(
      'a migration into filesystem + PostgreSQL killed with SIGKILL mid-run resumes: the second run copies only what is missing',
      TIMEOUT,
      async (t) => {
        await killAndResume(t, 'fs-pg', { rootDirectory: path.join(dir, 'big-target'), ...pgCache() });
      },
    );

    it(
      'a migration into S3 + PostgreSQL killed with SIGKILL mid-run resumes: the second run copies only what is missing',
      TIMEOUT,
      async (t) => {
        if (s3.skip !== undefined) return t.skip(s3.skip);
        const targetStorage = await s3Target(`berth-migrate-kill-${process.pid}`, 'big-s3-state');
        await killAndResume(t, 's3-pg', targetStorage);
      },
    );

    it(
      'refuses a store copied onto itself and a source that does not exist, with exit code 2; reads only the storage of the source configuration',
      TIMEOUT,
      async () => {
        const from = await writeConfig(dir, 'self', { rootDirectory: sourceRoot });
        const self = await berth(['migrate', from, from]);
        assert.equal(self.code, 2);
        assert.match(self.stderr, /describe the same store/);
        const missing = await writeConfig(dir, 'missing', { rootDirectory: path.join(dir, 'nothing-here') });
        const gone = await berth(['migrate', missing, from]);
        assert.equal(gone.code, 2);
        assert.match(gone.stderr, /storage.rootDirectory .* does not exist/);

        // Of the source's configuration only `storage` counts: a zot file copied from its machine
        // names side files that are not here.
        const zotFile = path.join(dir, 'zot-config.json');
        await writeFile(
          zotFile,
          JSON.stringify({
            distSpecVersion: '1.1.1',
            Storage: { rootDirectory: sourceRoot, gc: true, gcDelay: '1h' },
            http: {
              address: '0.0.0.0',
              port: '5000',
              auth: {
                openid: {
                  providers: {
                    oidc: {
                      credentialsFile: '/nonexistent/oidc-credentials.json',
                      issuer: 'https://idp.example.test/application/o/registry/',
                      scopes: ['openid', 'email', 'profile'],
                    },
                  },
                },
              },
            },
            extensions: { search: { enable: true } },
          }),
        );
        const target = await writeConfig(dir, 'zot-target', { rootDirectory: path.join(dir, 'zot-target') });
        const dry = await berth(['migrate', zotFile, target, '--dry-run']);
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(dry.stdout, /: 5 repositories$/m);
        const whole = await berth(['migrate', target, zotFile, '--dry-run']);
        assert.equal(whole.code, 2, 'the target is loaded whole, side files included');
        assert.match(whole.stderr, /credentialsFile: cannot read \/nonexistent\/oidc-credentials\.json/);
      },
    );

    it(
      'a damaged source blob fails with exit 1 naming the repository and the blob; --keep-going copies the rest, and a blob the source lacks is reported',
      TIMEOUT,
      async () => {
        const root = path.join(dir, 'damaged-source');
        const damaged = makeImage({ layerSizes: [3000] });
        await writeOciLayout(path.join(root, 'bad/one'), [{ content: damaged, tag: 'v1' }]);
        const layer = damaged.layers[0]!;
        const layerFile = path.join(root, 'bad/one/blobs/sha256', layer.digest.slice('sha256:'.length));
        await writeFile(layerFile, Buffer.alloc(layer.size, 7));
        // A pull-through cache's repository: the manifest is there, one layer never was.
        const partial = makeImage({ layerSizes: [2000] });
        await writeOciLayout(path.join(root, 'cache/partial'), [{ content: partial, tag: 'latest' }]);
        const absent = partial.layers[0]!.digest;
        await rm(path.join(root, 'cache/partial/blobs/sha256', absent.slice('sha256:'.length)));
        await writeOciLayout(path.join(root, 'good/two'), [{ content: makeImage(), tag: 'v1' }]);
        const from = await writeConfig(dir, 'from-damaged', { rootDirectory: root });
        const to = await writeConfig(dir, 'to-damaged', { rootDirectory: path.join(dir, 'damaged-target') });

        const stop = await berth(['migrate', from, to, '--json']);
        assert.equal(stop.code, 1);
        assert.match(
          stop.stderr,
          new RegExp(
            `bad/one: copying blob ${layer.digest}: the source's copy is damaged: upload digest is sha256:[0-9a-f]{64}, not ${layer.digest}`,
          ),
        );
        assert.match(stop.stderr, /run the same command again to resume/);
        assert.equal((JSON.parse(stop.stdout) as Report).copied.manifests, 0, 'stops at the first failure');

        const going = await berth(['migrate', from, to, '--json', '--keep-going']);
        assert.equal(going.code, 1);
        const report = JSON.parse(going.stdout) as Report;
        assert.equal(report.copied.manifests, 2, 'cache/partial and good/two');
        assert.deepEqual(report.missingInSource, [{ repo: 'cache/partial', digest: absent }]);
        assert.equal(report.failures.length, 1);
        assert.match(
          report.accounts.skipped ?? '',
          /^the source has no Berth metadata database \(.*; a zot data directory keeps its users and keys elsewhere\)$/,
          'laid out without Berth: no accounts, said so',
        );
        const human = await berth(['migrate', from, to, '--keep-going']);
        assert.match(
          human.stdout,
          new RegExp(`warning: cache/partial: ${absent} is referenced but not in the source`),
        );
      },
    );

    it(
      'the Kubernetes scale-out example and its migration Job carry configurations that verify',
      TIMEOUT,
      async () => {
        for (const manifest of ['berth-scale-out.yaml', 'berth-migrate.yaml']) {
          const yaml = await readFile(path.join(PROJECT_ROOT, 'deploy/kubernetes', manifest), 'utf8');
          // Each `<name>.json: |` block of a ConfigMap, its indentation removed.
          const blocks = [...yaml.matchAll(/^ {2}([\w-]+\.json): \|\n((?: {4}.*\n|\n)+)/gm)];
          assert.ok(blocks.length > 0, `${manifest} embeds a configuration`);
          for (const [, name, body] of blocks) {
            const file = path.join(dir, `k8s-${name}`);
            await writeFile(file, body!.replace(/^ {4}/gm, ''));
            const result = await berth(['verify', file], { BERTH_POSTGRES_URL: url });
            assert.equal(result.code, 0, `${manifest} ${name}: ${result.stderr}`);
          }
        }
      },
    );

    describe('verify --online', () => {
      it(
        'passes on good filesystem + SQLite and filesystem + PostgreSQL configurations, printing what it checked',
        TIMEOUT,
        async () => {
          const sqlite = await writeConfig(dir, 'v-sqlite', { rootDirectory: path.join(dir, 'v-sqlite') });
          const ok = await berth(['verify', '--online', sqlite]);
          assert.equal(ok.code, 0, ok.stderr);
          assert.match(
            ok.stdout,
            /^storage: ok: filesystem .*: wrote, read back and removed _berth\/verify-probe-/m,
          );
          assert.match(ok.stdout, /^metadata: ok: SQLite .*not created yet/m);
          assert.ok(!existsSync(path.join(dir, 'v-sqlite')), 'the probe leaves nothing behind');

          const pgFile = await writeConfig(dir, 'v-pg', {
            rootDirectory: path.join(dir, 'v-pg'),
            ...pgCache(),
          });
          const pgOk = await berth(['verify', '--online', pgFile]);
          assert.equal(pgOk.code, 0, pgOk.stderr);
          assert.match(pgOk.stdout, /^metadata: ok: PostgreSQL .*: connected; schema t_\w+ writable/m);
        },
      );

      it(
        'fails naming storage.cacheDriver.url when the database is unreachable; plain verify is unchanged',
        TIMEOUT,
        async () => {
          const unreachable = url.replace(/@([^:/]+):\d+\//, '@$1:1/');
          const file = await writeConfig(dir, 'v-nodb', {
            rootDirectory: path.join(dir, 'v-nodb'),
            remoteCache: true,
            cacheDriver: { name: 'postgres', url: unreachable },
          });
          const online = await berth(['verify', '--online', file]);
          assert.equal(online.code, 1);
          assert.match(
            online.stderr,
            /storage\.cacheDriver\.url: metadata check failed: cannot connect to PostgreSQL at 127\.0\.0\.1:1\//,
          );
          assert.ok(!online.stderr.includes(new URL(url).password), 'the password is never printed');
          const offline = await berth(['verify', file]);
          assert.equal(offline.code, 0, offline.stderr);
          assert.equal(offline.stdout, `${file}: configuration is valid\n`);
        },
      );

      it('fails naming storage.rootDirectory on a read-only directory', TIMEOUT, async (t) => {
        const root = path.join(dir, 'read-only');
        await mkdir(root, { recursive: true });
        await chmod(root, 0o555);
        const file = await writeConfig(dir, 'v-ro', { rootDirectory: root });
        await chmod(dir, 0o755);
        await chmod(file, 0o644);
        // root writes anywhere: the check then runs as nobody, for whom the folder is read-only.
        const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
        const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
          const child = spawn(process.execPath, [CLI, 'verify', '--online', file], {
            ...asUser,
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
          child.once('error', reject);
          child.once('close', (code) => resolve({ code, stderr }));
        });
        t.diagnostic(result.stderr.trim());
        assert.equal(result.code, 1);
        assert.match(
          result.stderr,
          /storage\.rootDirectory: storage check failed: filesystem .*read-only: cannot write a probe: EACCES/,
        );
      });

      it(
        'on S3: passes with a good bucket; names the bucket, the endpoint and the keys when they are wrong',
        TIMEOUT,
        async (t) => {
          if (s3.skip !== undefined) return t.skip(s3.skip);
          const service = s3.service;
          const bucket = `berth-verify-${process.pid}`;
          await makeBucket(service, bucket);
          const config = async (name: string, extra: Record<string, unknown>): Promise<string> =>
            writeConfig(dir, name, {
              rootDirectory: path.join(dir, `${name}-state`),
              storageDriver: s3Storage(service, bucket, extra),
              ...pgCache(),
            });

          const good = await berth(['verify', '--online', await config('v-s3', {})]);
          assert.equal(good.code, 0, good.stderr);
          assert.match(
            good.stdout,
            new RegExp(
              `^storage: ok: s3 bucket ${bucket} under /berth at .*: wrote, read back and removed`,
              'm',
            ),
          );

          const noBucket = await berth([
            'verify',
            '--online',
            await config('v-s3-nobucket', { bucket: `${bucket}-absent` }),
          ]);
          assert.equal(noBucket.code, 1);
          assert.match(
            noBucket.stderr,
            /storage\.storageDriver\.bucket: storage check failed: .*the bucket does not exist \(NoSuchBucket\)/,
          );

          const noEndpoint = await berth([
            'verify',
            '--online',
            await config('v-s3-noendpoint', { regionendpoint: 'http://127.0.0.1:1' }),
          ]);
          assert.equal(noEndpoint.code, 1);
          assert.match(
            noEndpoint.stderr,
            /storage\.storageDriver\.regionendpoint: storage check failed: .*ECONNREFUSED/,
          );

          const badKey = await berth([
            'verify',
            '--online',
            await config('v-s3-badkey', { secretkey: 'not-the-secret' }),
          ]);
          assert.equal(badKey.code, 1);
          assert.match(badKey.stderr, /storage\.storageDriver\.secretkey: storage check failed/);
          assert.ok(!badKey.stderr.includes(service.secretKey));
        },
      );
    });
  });
}
