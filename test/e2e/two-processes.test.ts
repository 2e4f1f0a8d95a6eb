/**
 * Two real `berth serve` processes on one data directory (issue 9): what one process changes, the
 * other sees at once; periodic work runs in exactly one of them; secrets and sessions are shared.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { getBlob, getManifest, makeImage, pushContent, uploadBlob, type Image } from '../support/fixtures.js';
import { UI_HEADER } from '../support/oidc.js';
import { CLI, startBerth, type RunningServer } from '../support/server.js';

const TIMEOUT = { timeout: 120_000 };

function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

describe('two processes on one data directory', () => {
  const servers: RunningServer[] = [];
  const cleanup: string[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
    for (const p of cleanup) await rm(p, { recursive: true, force: true });
  });

  async function pair(config: Record<string, unknown>): Promise<[RunningServer, RunningServer]> {
    const root = await mkdtemp(path.join(tmpdir(), 'berth-two-'));
    cleanup.push(root, `${root}.config.json`);
    // Both at the same moment, on an empty directory.
    const started = await Promise.allSettled([
      startBerth({ config, root, cleanup: false }),
      startBerth({ config, root, cleanup: false }),
    ]);
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    return [servers.at(-2)!, servers.at(-1)!];
  }

  it(
    'a blob or manifest deleted on A is gone on B at once: B never accepts a manifest naming it',
    TIMEOUT,
    async () => {
      const [a, b] = await pair({});
      const image = makeImage({ layerSizes: [3000] });
      const layer = image.layers[0]!;
      for (const blob of image.blobs) await uploadBlob(a.url, 'shared/app', blob);
      // B answers (and would remember, if it cached) that the layer is there.
      assert.equal(
        (await fetch(`${b.url}/v2/shared/app/blobs/${layer.digest}`, { method: 'HEAD' })).status,
        200,
      );
      assert.equal(
        (await fetch(`${a.url}/v2/shared/app/blobs/${layer.digest}`, { method: 'DELETE' })).status,
        202,
      );
      assert.equal(
        (await fetch(`${b.url}/v2/shared/app/blobs/${layer.digest}`, { method: 'HEAD' })).status,
        404,
      );
      const refused = await fetch(`${b.url}/v2/shared/app/manifests/v1`, {
        method: 'PUT',
        headers: { 'Content-Type': image.manifest.mediaType },
        body: image.manifest.bytes,
      });
      assert.equal(refused.status, 400, 'a manifest naming a deleted blob is refused, not stored broken');
      assert.equal(
        ((await refused.json()) as { errors: { code: string }[] }).errors[0]?.code,
        'MANIFEST_BLOB_UNKNOWN',
      );

      // A manifest deleted on A: B stops serving it (by tag and by digest) although it served it before.
      await pushContent(a.url, 'shared/web', makeImage(), 'v1');
      const other = makeImage();
      await pushContent(a.url, 'shared/web', other, 'v2');
      assert.equal((await getManifest(b.url, 'shared/web', 'v2')).status, 200);
      const del = await fetch(`${a.url}/v2/shared/web/manifests/${other.manifest.digest}`, {
        method: 'DELETE',
      });
      assert.equal(del.status, 202);
      assert.equal((await getManifest(b.url, 'shared/web', other.manifest.digest)).status, 404);
      assert.equal((await getManifest(b.url, 'shared/web', 'v2')).status, 404);
      assert.equal((await getManifest(b.url, 'shared/web', 'v1')).status, 200);
    },
  );

  it(
    'one signing key when both start together: a token minted by A works on B; a session made on A works on B',
    TIMEOUT,
    async () => {
      const work = await mkdtemp(path.join(tmpdir(), 'berth-two-auth-'));
      cleanup.push(work);
      const htpasswd = path.join(work, 'htpasswd');
      await writeFile(htpasswd, `carol:${await bcrypt.hash('carol-pw', 5)}\n`);
      const [a, b] = await pair({
        http: {
          auth: { htpasswd: { path: htpasswd } },
          accessControl: {
            repositories: { '**': { policies: [{ users: ['carol'], actions: ['read', 'create'] }] } },
          },
        },
      });
      const keyFile = path.join(a.root, '_berth', 'token-signing-keys.json');
      assert.equal((await stat(keyFile)).mode & 0o777, 0o600, 'the key file is private');

      const scope = encodeURIComponent('repository:team/app:pull,push');
      const minted = await fetch(`${a.url}/zot/auth/token?service=berth&scope=${scope}`, {
        headers: basic('carol', 'carol-pw'),
      });
      assert.equal(minted.status, 200);
      const { token } = (await minted.json()) as { token: string };
      const onB = await fetch(`${b.url}/v2/team/app/tags/list`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      assert.notEqual(onB.status, 401, 'B verifies the token A signed');

      const signIn = await fetch(`${a.url}/v2/`, {
        headers: { ...UI_HEADER, ...basic('carol', 'carol-pw') },
      });
      assert.equal(signIn.status, 200);
      const cookie = signIn.headers
        .getSetCookie()
        .find((c) => c.startsWith('session='))!
        .split(';')[0]!;
      const keys = await fetch(`${b.url}/zot/auth/apikey`, { headers: { ...UI_HEADER, Cookie: cookie } });
      assert.notEqual(keys.status, 401, 'the session cookie made on A is honoured on B');
      const whoAmI = await fetch(`${b.url}/v2/_catalog`, { headers: { ...UI_HEADER, Cookie: cookie } });
      assert.equal(whoAmI.status, 200);
    },
  );

  it(
    'garbage collection runs in exactly one process while both take pushes; every push succeeds and scrub is clean',
    TIMEOUT,
    async () => {
      const [a, b] = await pair({ storage: { gc: true, gcDelay: '1s', gcInterval: '1s' } });
      const images: { repo: string; tag: string; image: Image }[] = [];
      const pushes: Promise<void>[] = [];
      for (let i = 0; i < 12; i++) {
        const target = i % 2 === 0 ? a : b;
        const entry = { repo: `gc/app${i % 3}`, tag: `v${i}`, image: makeImage({ layerSizes: [2000 + i] }) };
        images.push(entry);
        pushes.push(pushContent(target.url, entry.repo, entry.image, entry.tag));
        if (i % 4 === 3) await Promise.all(pushes.splice(0));
      }
      await Promise.all(pushes);
      // Let a few sweeps happen after the pushes.
      const swept = (s: RunningServer): number =>
        s
          .output()
          .split('\n')
          .filter((l) => l.includes('"gc: sweep')).length;
      const deadline = Date.now() + 30_000;
      while (swept(a) + swept(b) < 3) {
        assert.ok(Date.now() < deadline, `no GC sweeps logged:\n${a.output()}\n${b.output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const leaders = [a, b].filter((s) => /"job":"gc","leading":true/.test(s.output()));
      assert.equal(leaders.length, 1, 'exactly one process leads GC');
      assert.equal(swept(leaders[0] === a ? b : a), 0, 'the other never swept');
      for (const { repo, tag, image } of images) {
        assert.equal((await getManifest(b.url, repo, tag)).status, 200, `${repo}:${tag}`);
        for (const blob of image.blobs) assert.deepEqual(await getBlob(a.url, repo, blob.digest), blob.bytes);
      }
      const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'scrub', a.configPath, '--json']);
      assert.deepEqual((JSON.parse(stdout) as { problems: unknown[] }).problems, []);
    },
  );
});
