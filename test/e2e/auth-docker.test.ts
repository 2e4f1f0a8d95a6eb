/**
 * Identity and access through the Docker CLI and Engine, with the user's config and keys made after
 * a real OIDC sign-in. The Docker CLI ignores a challenge on a 200 `GET /v2/` and then never sends
 * credentials; zot's workaround (401 for Docker's user agent) broke anonymous pulls. Berth answers
 * an anonymous ping with 401 and a bearer challenge, and issues tokens (anonymous ones for
 * anonymous reads), so both halves work: anonymous pull (scenario 1), refused anonymous push (2),
 * `docker login` + CI push of a new tag (5), refused overwrite and harmless identical re-push (6),
 * admin overwrite (7), refused push as bob (8).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  startContainerd,
  startDockerd,
  type Containerd,
  type Dockerd,
  type RunResult,
} from '../support/clients.js';
import {
  dockerArchive,
  getManifest,
  hostPlatform,
  makeImage,
  pushContent,
  type Image,
} from '../support/fixtures.js';
import { startHomelab, type Homelab } from '../support/oidc.js';

const TIMEOUT = { timeout: 300_000 };
const CLI = { timeoutMs: 240_000 };

describe('docker against the user config', () => {
  let lab: Homelab;
  let containerd: Containerd;
  let dockerd: Dockerd;
  let work: string;
  let loads = 0;

  const admin = (): Record<string, string> => ({
    Authorization: `Basic ${Buffer.from(`alice:${lab.keys.alice}`).toString('base64')}`,
  });
  const ref = (repo: string, tag: string): string => `${lab.host}/${repo}:${tag}`;

  function failed(result: RunResult, pattern: RegExp): void {
    assert.notEqual(result.code, 0, `${result.command} should have failed:\n${result.stdout}`);
    assert.match(`${result.stderr}\n${result.stdout}`, pattern);
  }

  /** Loads `image` into the engine and tags it `reference`. */
  async function load(image: Image, reference: string): Promise<void> {
    const archive = path.join(work, `load-${++loads}.tar`);
    const local = `berth-auth-fixture:${loads}`;
    await writeFile(archive, dockerArchive(image, [local]));
    await dockerd.docker(['load', '-i', archive], CLI);
    await dockerd.docker(['tag', local, reference], CLI);
  }

  async function login(user: string, password: string): Promise<RunResult> {
    return dockerd.dockerRaw(['login', '--username', user, '--password-stdin', lab.host], {
      ...CLI,
      input: password,
    });
  }

  async function digestOf(repo: string, tag: string): Promise<string | undefined> {
    const m = await getManifest(lab.url, repo, tag);
    return m.status === 200 ? (m.digestHeader ?? undefined) : undefined;
  }

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-auth-docker-'));
    lab = await startHomelab();
    containerd = await startContainerd();
    dockerd = await startDockerd(containerd);
  });

  after(async () => {
    await dockerd?.stop();
    await containerd?.stop();
    await lab?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('1: pulls anonymously (no login)', TIMEOUT, async () => {
    const image = makeImage({ platform: hostPlatform(), layerSizes: [4096] });
    await pushContent(lab.url, 'e2e/docker-anon', image, 'v1', { headers: admin() });
    await dockerd.docker(['pull', ref('e2e/docker-anon', 'v1')], CLI);
    const [inspected] = JSON.parse(
      (await dockerd.docker(['image', 'inspect', ref('e2e/docker-anon', 'v1')], CLI)).stdout,
    ) as Array<{ Id: string }>;
    assert.equal(inspected?.Id, image.config.digest);
  });

  it('2: an anonymous push is refused', TIMEOUT, async () => {
    await load(makeImage({ platform: hostPlatform() }), ref('e2e/docker-noauth', 'v1'));
    // A 401 with `error="insufficient_scope"` (the anonymous token lacks push), which Docker words as
    // "denied: <error_description>".
    failed(
      await dockerd.dockerRaw(['push', ref('e2e/docker-noauth', 'v1')], CLI),
      /authentication required/i,
    );
    assert.equal(await digestOf('e2e/docker-noauth', 'v1'), undefined);
  });

  it('refuses `docker login` with a wrong key', TIMEOUT, async () => {
    failed(
      await login('zot-ci', 'zak_0123456789abcdef0123456789abcdef'),
      /unauthorized|authentication required|incorrect/i,
    );
  });

  it(
    '5+6: after `docker login` zot-ci pushes a new tag, cannot move it, and may re-push it',
    TIMEOUT,
    async () => {
      const loggedIn = await login('zot-ci', lab.keys['zot-ci']);
      assert.equal(loggedIn.code, 0, loggedIn.stderr);
      assert.match(loggedIn.stdout, /Login Succeeded/);
      try {
        await load(
          makeImage({ platform: hostPlatform(), layerSizes: [1024, 2048] }),
          ref('e2e/docker-ci', 'v1'),
        );
        const pushed = await dockerd.docker(['push', ref('e2e/docker-ci', 'v1')], CLI);
        const digest = /v1: digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
        assert.ok(digest !== undefined, pushed.stdout);
        assert.equal(await digestOf('e2e/docker-ci', 'v1'), digest);

        // The identical image again: harmless.
        await dockerd.docker(['push', ref('e2e/docker-ci', 'v1')], CLI);
        assert.equal(await digestOf('e2e/docker-ci', 'v1'), digest);

        // Another image to the same tag: refused, the tag stays.
        await load(makeImage({ platform: hostPlatform() }), ref('e2e/docker-ci', 'v1'));
        failed(await dockerd.dockerRaw(['push', ref('e2e/docker-ci', 'v1')], CLI), /denied/i);
        assert.equal(await digestOf('e2e/docker-ci', 'v1'), digest);

        // Logged in, anonymous-readable content still pulls.
        const other = makeImage({ platform: hostPlatform() });
        await pushContent(lab.url, 'e2e/docker-public', other, 'v1', { headers: admin() });
        await dockerd.docker(['pull', ref('e2e/docker-public', 'v1')], CLI);
      } finally {
        await dockerd.docker(['logout', lab.host], CLI);
      }
    },
  );

  it('7: alice (admins) overwrites a tag', TIMEOUT, async () => {
    const first = makeImage({ platform: hostPlatform() });
    await pushContent(lab.url, 'e2e/docker-admin', first, 'v1', { headers: admin() });
    assert.equal((await login('alice', lab.keys.alice)).code, 0);
    try {
      await load(makeImage({ platform: hostPlatform() }), ref('e2e/docker-admin', 'v1'));
      await dockerd.docker(['push', ref('e2e/docker-admin', 'v1')], CLI);
      const now = await digestOf('e2e/docker-admin', 'v1');
      assert.ok(now !== undefined && now !== first.manifest.digest, 'the tag moved');
    } finally {
      await dockerd.docker(['logout', lab.host], CLI);
    }
  });

  it('8: bob (no group) pulls but may not push', TIMEOUT, async () => {
    const image = makeImage({ platform: hostPlatform() });
    await pushContent(lab.url, 'e2e/docker-bob', image, 'v1', { headers: admin() });
    assert.equal((await login('bob', lab.keys.bob)).code, 0);
    try {
      await dockerd.docker(['pull', ref('e2e/docker-bob', 'v1')], CLI);
      await load(makeImage({ platform: hostPlatform() }), ref('e2e/docker-bob', 'v2'));
      failed(await dockerd.dockerRaw(['push', ref('e2e/docker-bob', 'v2')], CLI), /denied/i);
      assert.equal(await digestOf('e2e/docker-bob', 'v2'), undefined);
    } finally {
      await dockerd.docker(['logout', lab.host], CLI);
    }
  });
});
