/**
 * Identity and access through containerd's resolver (`ctr`, the code BuildKit, Dagger and the
 * Kubernetes nodes use), with the user's config and keys made after a real OIDC sign-in:
 * anonymous pull (scenario 1), refused anonymous push (2), CI push of a new tag (5), refused tag
 * overwrite and harmless identical re-push (6), admin overwrite (7), refused push by a user
 * outside both groups (8). containerd never pings `/v2/`: it acts on per-request 401 challenges.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommandError, startContainerd, type Containerd } from '../support/clients.js';
import {
  getManifest,
  hostPlatform,
  makeImage,
  ociArchive,
  pushContent,
  type Image,
} from '../support/fixtures.js';
import { startHomelab, type Homelab } from '../support/oidc.js';

const TIMEOUT = { timeout: 300_000 };
const CTR = { timeoutMs: 240_000 };

describe('containerd (ctr) against the user config', () => {
  let lab: Homelab;
  let containerd: Containerd;
  let work: string;
  let imports = 0;

  const admin = (): Record<string, string> => ({
    Authorization: `Basic ${Buffer.from(`alice:${lab.keys.alice}`).toString('base64')}`,
  });
  const name = (repo: string, tag: string): string => `${lab.host}/${repo}:${tag}`;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-auth-ctr-'));
    lab = await startHomelab();
    containerd = await startContainerd();
  });

  after(async () => {
    await containerd?.stop();
    await lab?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  /** Imports `image` into a fresh namespace under `ref`; returns the namespace. */
  async function imported(image: Image, ref: string): Promise<string> {
    const namespace = `auth${++imports}`;
    const archive = path.join(work, `${namespace}.tar`);
    await writeFile(
      archive,
      ociArchive([{ content: image, annotations: { 'io.containerd.image.name': ref } }]),
    );
    await containerd.ctr(namespace, ['images', 'import', '--all-platforms', '--no-unpack', archive], CTR);
    return namespace;
  }

  async function push(image: Image, repo: string, tag: string, user?: string): Promise<void> {
    const ref = name(repo, tag);
    const namespace = await imported(image, ref);
    await containerd.ctr(
      namespace,
      ['images', 'push', '--plain-http', ...(user === undefined ? [] : ['--user', user]), ref],
      CTR,
    );
  }

  async function refusedPush(
    image: Image,
    repo: string,
    tag: string,
    pattern: RegExp,
    user?: string,
  ): Promise<void> {
    await assert.rejects(push(image, repo, tag, user), (err: unknown) => {
      assert.ok(err instanceof CommandError, String(err));
      assert.match(err.result.stderr, pattern);
      return true;
    });
  }

  async function digestOf(repo: string, tag: string): Promise<string | undefined> {
    const m = await getManifest(lab.url, repo, tag);
    return m.status === 200 ? (m.digestHeader ?? undefined) : undefined;
  }

  it('1: pulls anonymously', TIMEOUT, async () => {
    const image = makeImage({ platform: hostPlatform(), layerSizes: [4096] });
    await pushContent(lab.url, 'e2e/ctr-anon', image, 'v1', { headers: admin() });
    await containerd.ctr(
      'anonpull',
      ['images', 'pull', '--plain-http', '--snapshotter', 'native', name('e2e/ctr-anon', 'v1')],
      CTR,
    );
    const listed = (await containerd.ctr('anonpull', ['images', 'ls'], CTR)).stdout;
    assert.match(listed, new RegExp(image.manifest.digest));
  });

  it('2: an anonymous push is refused (401)', TIMEOUT, async () => {
    // containerd reports the 401's `error="insufficient_scope"` (its anonymous token lacks push).
    await refusedPush(
      makeImage({ platform: hostPlatform() }),
      'e2e/ctr-noauth',
      'v1',
      /insufficient_scope|401 Unauthorized/,
    );
    assert.equal(await digestOf('e2e/ctr-noauth', 'v1'), undefined);
  });

  it('5: zot-ci pushes a new tag with --user and its API key', TIMEOUT, async () => {
    const image = makeImage({ platform: hostPlatform(), layerSizes: [1024, 8192] });
    await push(image, 'e2e/ctr-ci', 'v1', `zot-ci:${lab.keys['zot-ci']}`);
    assert.equal(await digestOf('e2e/ctr-ci', 'v1'), image.manifest.digest);
  });

  it(
    '6: zot-ci cannot move an existing tag, and re-pushing the identical image is harmless',
    TIMEOUT,
    async () => {
      const ci = `zot-ci:${lab.keys['zot-ci']}`;
      const first = makeImage({ platform: hostPlatform() });
      await push(first, 'e2e/ctr-immutable', 'v1', ci);
      await refusedPush(
        makeImage({ platform: hostPlatform() }),
        'e2e/ctr-immutable',
        'v1',
        /403 Forbidden|denied/i,
        ci,
      );
      assert.equal(await digestOf('e2e/ctr-immutable', 'v1'), first.manifest.digest, 'the tag did not move');
      await push(first, 'e2e/ctr-immutable', 'v1', ci);
      assert.equal(await digestOf('e2e/ctr-immutable', 'v1'), first.manifest.digest);
    },
  );

  it('7: alice (admins) overwrites a tag', TIMEOUT, async () => {
    const first = makeImage({ platform: hostPlatform() });
    const second = makeImage({ platform: hostPlatform() });
    await push(first, 'e2e/ctr-admin', 'v1', `zot-ci:${lab.keys['zot-ci']}`);
    await push(second, 'e2e/ctr-admin', 'v1', `alice:${lab.keys.alice}`);
    assert.equal(await digestOf('e2e/ctr-admin', 'v1'), second.manifest.digest);
  });

  it('8: bob (no group) is refused a push (403) and a wrong key is refused (401)', TIMEOUT, async () => {
    await refusedPush(
      makeImage({ platform: hostPlatform() }),
      'e2e/ctr-bob',
      'v1',
      /403 Forbidden|denied/i,
      `bob:${lab.keys.bob}`,
    );
    await refusedPush(
      makeImage({ platform: hostPlatform() }),
      'e2e/ctr-bob',
      'v1',
      /401 Unauthorized|unauthorized/i,
      'zot-ci:zak_0123456789abcdef0123456789abcdef',
    );
    assert.equal(await digestOf('e2e/ctr-bob', 'v1'), undefined);
  });
});
