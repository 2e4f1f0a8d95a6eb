/**
 * Garbage collection end to end, with the real `berth` binary: the background schedule of
 * `gcInterval` that never removes anything younger than `gcDelay` (acceptance scenario 12), and
 * `berth gc CONFIG [--dry-run]`.
 */
import assert from 'node:assert/strict';
import { readdir, rm, utimes } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { run } from '../support/clients.js';
import {
  getBlob,
  getManifest,
  makeImage,
  makeLayer,
  pushContent,
  uploadBlob,
  type Image,
} from '../support/fixtures.js';
import { CLI, startBerth, type RunningServer } from '../support/server.js';

const HOUR = 3_600_000;
const TIMEOUT = { timeout: 120_000 };

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Sets every file of the store (Berth's own database aside) `ms` into the past. */
async function ageStore(dir: string, ms: number, top = true): Promise<void> {
  const past = new Date(Date.now() - ms);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (top && entry.name === '_berth') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await ageStore(full, ms, false);
    else await utimes(full, past, past);
  }
}

/** Waits until the server has logged `count` GC sweeps; fails after `timeoutMs`. */
async function sweeps(
  server: RunningServer,
  count: number,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const finished = server
      .output()
      .split('\n')
      .filter((l) => l.includes('gc: sweep finished'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    if (finished.length >= count) return finished;
    if (Date.now() > deadline)
      throw new Error(`only ${finished.length} of ${count} GC sweeps were logged:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function expectImage(url: string, repo: string, reference: string, image: Image): Promise<void> {
  assert.equal((await getManifest(url, repo, reference)).status, 200, `${repo}:${reference} must be served`);
  for (const blob of image.blobs) assert.deepEqual(await getBlob(url, repo, blob.digest), blob.bytes);
}

describe('garbage collection (real server)', () => {
  const servers: RunningServer[] = [];
  const roots: string[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });

  async function start(config: Record<string, unknown>, root?: string): Promise<RunningServer> {
    const server = await startBerth({ config, cleanup: false, ...(root === undefined ? {} : { root }) });
    servers.push(server);
    if (!roots.includes(server.root)) roots.push(server.root, server.configPath);
    return server;
  }

  it(
    'sweeps every gcInterval, spares what is younger than gcDelay, and takes it once older (scenario 12)',
    TIMEOUT,
    async () => {
      const config = { storage: { gc: true, gcDelay: '1h', gcInterval: '1s' } };
      const first = await start(config);
      const tagged = makeImage();
      const untagged = makeImage();
      await pushContent(first.url, 'apps/web', tagged, 'v1');
      await pushContent(first.url, 'apps/web', untagged);
      const before = (await sweeps(first, 1)).length;
      const young = await sweeps(first, before + 2);
      assert.ok(
        young.every((s) => s.manifests === 0 && s.blobs === 0),
        'sweeps ran and removed nothing younger than gcDelay',
      );
      assert.equal((await getManifest(first.url, 'apps/web', untagged.manifest.digest)).status, 200);
      await first.stop();

      // An hour and more later (the files say so), a new process sweeps at start-up and again each interval.
      // The store remembers when each blob was last stored (any process's pushes count), in real
      // time the files' ages cannot move: the new process runs with a gcDelay those records are past.
      await ageStore(first.root, 2 * HOUR);
      const second = await start({ storage: { ...config.storage, gcDelay: '1s' } }, first.root);
      const logged = await sweeps(second, 2);
      assert.equal(logged[0]?.manifests, 1, 'the untagged manifest went in the first sweep');
      assert.equal(logged[0]?.blobs, untagged.blobs.length + 1);
      assert.equal(logged[1]?.manifests, 0);
      assert.equal((await getManifest(second.url, 'apps/web', untagged.manifest.digest)).status, 404);
      await expectImage(second.url, 'apps/web', 'v1', tagged);
    },
  );

  it(
    'berth gc: --dry-run reports what would go and the bytes freed; a real run refuses while a server runs',
    TIMEOUT,
    async () => {
      // A fixed port in the config file, so that `berth gc` can see the server is running.
      const port = await freePort();
      const server = await start({
        storage: { gc: true, gcDelay: '1h', gcInterval: '24h' },
        http: { port: String(port) },
      });
      const kept = makeImage();
      const dropped = makeImage({ layerSizes: [10_000] });
      const orphan = makeLayer({ size: 20_000 });
      await pushContent(server.url, 'team/app', kept, 'v1');
      await pushContent(server.url, 'team/app', dropped, 'old');
      await pushContent(server.url, 'team/app', kept, 'old'); // the tag moves on: `dropped` is untagged now
      await uploadBlob(server.url, 'team/app', orphan);

      const now = await run(process.execPath, [CLI, 'gc', server.configPath, '--dry-run']);
      assert.equal(now.code, 0, now.stderr);
      assert.match(
        now.stdout,
        /dry run: would remove 0 tags, 0 manifests, 0 blobs, 0 uploads in 0 of 1 repository; 0 B would be freed/,
      );

      const later = await run(process.execPath, [
        CLI,
        'gc',
        server.configPath,
        '--dry-run',
        '--as-of',
        '+2h',
      ]);
      assert.equal(later.code, 0, later.stderr);
      assert.match(later.stdout, new RegExp(`manifest  ${dropped.manifest.digest} .* \\(untagged\\)`));
      assert.ok(
        later.stdout.includes(`blob      ${orphan.digest} ${(orphan.size / 1024).toFixed(1)} KiB`),
        later.stdout,
      );
      const freed = dropped.manifest.size + dropped.config.size + dropped.layers[0]!.size + orphan.size;
      assert.ok(
        later.stdout.includes(
          `would remove 0 tags, 1 manifest, 4 blobs, 0 uploads in 1 of 1 repository; ${(freed / 1024).toFixed(1)} KiB would be freed`,
        ),
        later.stdout,
      );
      assert.equal(
        (await getManifest(server.url, 'team/app', dropped.manifest.digest)).status,
        200,
        'a dry run changes nothing',
      );

      const refused = await run(process.execPath, [CLI, 'gc', server.configPath]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /a server answers at http:\/\/127\.0\.0\.1:\d+\/livez/);

      await server.stop();
      const collected = await run(process.execPath, [
        CLI,
        'gc',
        server.configPath,
        '--as-of',
        '+2h',
        '--json',
      ]);
      assert.equal(collected.code, 0, collected.stderr);
      const report = JSON.parse(collected.stdout) as {
        dryRun: boolean;
        repositories: { repo: string; freedBytes: number; blobs: unknown[] }[];
      };
      assert.equal(report.dryRun, false);
      assert.deepEqual(
        report.repositories.map((r) => [r.repo, r.blobs.length, r.freedBytes]),
        [['team/app', 4, freed]],
      );

      const restarted = await start({ storage: { gc: false } }, server.root);
      assert.equal((await getManifest(restarted.url, 'team/app', dropped.manifest.digest)).status, 404);
      assert.equal((await fetch(`${restarted.url}/v2/team/app/blobs/${orphan.digest}`)).status, 404);
      await expectImage(restarted.url, 'team/app', 'v1', kept);
      await expectImage(restarted.url, 'team/app', 'old', kept);
    },
  );

  it('berth gc: a bad configuration exits 2 and names the problem', TIMEOUT, async () => {
    const result = await run(process.execPath, [CLI, 'gc', '/nonexistent/berth.json', '--dry-run']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /berth gc: invalid configuration/);
  });
});
