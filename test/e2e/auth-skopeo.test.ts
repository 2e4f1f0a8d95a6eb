/**
 * Identity and access through skopeo (containers/image, our first user's CI push path), with the
 * user's config and a real OpenID Connect provider: acceptance scenarios 1, 2, 4, 5, 6, 7 and 8.
 * Keys are created through Berth's API in a browser session after signing in at the provider.
 * skopeo runs with a private HOME and auth file, so nothing on the machine lends it credentials.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { requireCommand, run, type RunResult } from '../support/clients.js';
import {
  getManifest,
  makeImage,
  pushContent,
  readOciLayout,
  writeOciLayout,
  type Image,
} from '../support/fixtures.js';
import { startHomelab, UI_HEADER, type Homelab } from '../support/oidc.js';

const TIMEOUT = { timeout: 300_000 };

describe('skopeo against the user config', () => {
  let lab: Homelab;
  let work: string;
  let bin: string;
  let env: NodeJS.ProcessEnv;
  let policy: string;
  let layouts = 0;

  const skopeo = (args: string[]): Promise<RunResult> =>
    run(bin, ['--policy', policy, ...args], { timeoutMs: 240_000, env });
  const ref = (repo: string, tag: string): string => `docker://${lab.host}/${repo}:${tag}`;
  const admin = (): Record<string, string> => ({
    Authorization: `Basic ${Buffer.from(`alice:${lab.keys.alice}`).toString('base64')}`,
  });

  function ok(result: RunResult): RunResult {
    assert.equal(result.code, 0, `${result.command}\n${result.stderr}`);
    return result;
  }
  function refused(result: RunResult, pattern: RegExp): void {
    assert.notEqual(result.code, 0, `${result.command} should have failed:\n${result.stdout}`);
    assert.match(result.stderr, pattern, result.stderr);
  }

  async function layout(image: Image): Promise<string> {
    return writeOciLayout(path.join(work, `layout-${++layouts}`), [{ content: image, tag: 'v1' }]);
  }
  /** `skopeo copy` of an image into the registry as `user` (creds on the command line), or anonymously. */
  async function push(image: Image, repo: string, tag: string, creds?: string): Promise<RunResult> {
    const src = `oci:${await layout(image)}:v1`;
    return skopeo([
      'copy',
      '--dest-tls-verify=false',
      ...(creds === undefined ? [] : ['--dest-creds', creds]),
      src,
      ref(repo, tag),
    ]);
  }
  async function digestOf(repo: string, tag: string): Promise<string | undefined> {
    const m = await getManifest(lab.url, repo, tag);
    return m.status === 200 ? (m.digestHeader ?? undefined) : undefined;
  }

  before(async () => {
    bin = requireCommand('skopeo');
    work = await mkdtemp(path.join(tmpdir(), 'e2e-auth-skopeo-'));
    policy = path.join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    await mkdir(path.join(work, 'home'));
    env = {
      HOME: path.join(work, 'home'),
      XDG_RUNTIME_DIR: path.join(work, 'home'),
      REGISTRY_AUTH_FILE: path.join(work, 'auth.json'),
      DOCKER_CONFIG: path.join(work, 'docker'),
    };
    lab = await startHomelab();
  });

  after(async () => {
    await lab?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('1: pulls anonymously', TIMEOUT, async () => {
    const image = makeImage({ layerSizes: [2048] });
    await pushContent(lab.url, 'e2e/skopeo-anon', image, 'v1', { headers: admin() });
    const dst = path.join(work, 'anon-pull');
    ok(await skopeo(['copy', '--src-tls-verify=false', ref('e2e/skopeo-anon', 'v1'), `oci:${dst}:got`]));
    assert.equal((await readOciLayout(dst)).byTag('got').digest, image.manifest.digest);
    ok(await skopeo(['inspect', '--tls-verify=false', '--raw', ref('e2e/skopeo-anon', 'v1')]));
  });

  it('2: refuses an unauthenticated push with 401 and a challenge', TIMEOUT, async () => {
    refused(await push(makeImage(), 'e2e/skopeo-noauth', 'v1'), /authentication required|unauthorized/i);
    assert.equal(await digestOf('e2e/skopeo-noauth', 'v1'), undefined);
    const res = await fetch(`${lab.url}/v2/e2e/skopeo-noauth/blobs/uploads/`, { method: 'POST' });
    assert.equal(res.status, 401);
    assert.match(
      res.headers.get('www-authenticate') ?? '',
      /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/zot\/auth\/token",service="[^"]+",scope="repository:e2e\/skopeo-noauth:pull,push"$/,
    );
  });

  it(
    '4+5: pushes with the API key created after OIDC sign-in, as zot-ci (artifact-workloads)',
    TIMEOUT,
    async () => {
      const image = makeImage({ layerSizes: [1024, 4096] });
      ok(await push(image, 'e2e/skopeo-ci', 'v1', `zot-ci:${lab.keys['zot-ci']}`));
      assert.equal(await digestOf('e2e/skopeo-ci', 'v1'), image.manifest.digest);
    },
  );

  it(
    '4: a key stored with `skopeo login` pushes too (credentials sent after the challenge)',
    TIMEOUT,
    async () => {
      ok(
        await skopeo([
          'login',
          '--tls-verify=false',
          '--username',
          'zot-ci',
          '--password',
          lab.keys['zot-ci'],
          lab.host,
        ]),
      );
      const image = makeImage();
      try {
        ok(await push(image, 'e2e/skopeo-login', 'v1'));
        assert.equal(await digestOf('e2e/skopeo-login', 'v1'), image.manifest.digest);
      } finally {
        ok(await skopeo(['logout', lab.host]));
      }
      refused(
        await skopeo([
          'login',
          '--tls-verify=false',
          '--username',
          'zot-ci',
          '--password',
          'zak_00000000000000000000000000000000',
          lab.host,
        ]),
        /unauthorized|authentication required|invalid/i,
      );
    },
  );

  it('4: a revoked key is refused with 401', TIMEOUT, async () => {
    const created = await lab.createKey('zot-ci', { label: 'to-revoke' });
    assert.equal(created.status, 201);
    const key = String(created.json.apiKey);
    ok(await push(makeImage(), 'e2e/skopeo-revoke', 'before', `zot-ci:${key}`));
    const revoke = await lab.browsers['zot-ci'].request(
      `${lab.url}/zot/auth/apikey?id=${String(created.json.uuid)}`,
      {
        method: 'DELETE',
        headers: { ...UI_HEADER, Origin: lab.url },
      },
    );
    assert.equal(revoke.status, 200);
    refused(
      await push(makeImage(), 'e2e/skopeo-revoke', 'after', `zot-ci:${key}`),
      /unauthorized|authentication required/i,
    );
    assert.equal(await digestOf('e2e/skopeo-revoke', 'after'), undefined);
  });

  it('4: an expired key is refused with 401', TIMEOUT, async () => {
    const expiresAt = new Date(Date.now() + 3_000);
    const created = await lab.createKey('zot-ci', {
      label: 'short-lived',
      expirationDate: expiresAt.toISOString(),
    });
    assert.equal(created.status, 201);
    const key = String(created.json.apiKey);
    ok(await push(makeImage(), 'e2e/skopeo-expire', 'before', `zot-ci:${key}`));
    await sleep(Math.max(0, expiresAt.getTime() + 1_000 - Date.now()));
    refused(
      await push(makeImage(), 'e2e/skopeo-expire', 'after', `zot-ci:${key}`),
      /unauthorized|authentication required/i,
    );
  });

  it(
    '6: zot-ci cannot overwrite an existing tag or delete, but may re-push the identical image',
    TIMEOUT,
    async () => {
      const ci = `zot-ci:${lab.keys['zot-ci']}`;
      const first = makeImage();
      ok(await push(first, 'e2e/skopeo-immutable', 'v1', ci));
      refused(await push(makeImage(), 'e2e/skopeo-immutable', 'v1', ci), /denied/i);
      assert.equal(
        await digestOf('e2e/skopeo-immutable', 'v1'),
        first.manifest.digest,
        'the tag did not move',
      );
      ok(await push(first, 'e2e/skopeo-immutable', 'v1', ci));
      refused(
        await skopeo(['delete', '--tls-verify=false', '--creds', ci, ref('e2e/skopeo-immutable', 'v1')]),
        /denied/i,
      );
      assert.equal(await digestOf('e2e/skopeo-immutable', 'v1'), first.manifest.digest);
    },
  );

  it('7: alice (admins) overwrites a tag and deletes manifests, tags and blobs', TIMEOUT, async () => {
    const adminCreds = `alice:${lab.keys.alice}`;
    const first = makeImage();
    const second = makeImage();
    ok(await push(first, 'e2e/skopeo-admin', 'v1', `zot-ci:${lab.keys['zot-ci']}`));
    ok(await push(second, 'e2e/skopeo-admin', 'v1', adminCreds));
    assert.equal(await digestOf('e2e/skopeo-admin', 'v1'), second.manifest.digest);
    ok(await skopeo(['delete', '--tls-verify=false', '--creds', adminCreds, ref('e2e/skopeo-admin', 'v1')]));
    assert.equal(await digestOf('e2e/skopeo-admin', 'v1'), undefined);

    ok(await push(first, 'e2e/skopeo-admin', 'v2', adminCreds));
    const tagDelete = await fetch(`${lab.url}/v2/e2e/skopeo-admin/manifests/v2`, {
      method: 'DELETE',
      headers: admin(),
    });
    assert.equal(tagDelete.status, 202);
    const blobDelete = await fetch(`${lab.url}/v2/e2e/skopeo-admin/blobs/${second.layers[0]!.digest}`, {
      method: 'DELETE',
      headers: admin(),
    });
    assert.equal(blobDelete.status, 202);
    assert.equal(
      (await fetch(`${lab.url}/v2/e2e/skopeo-admin/blobs/${second.layers[0]!.digest}`, { method: 'HEAD' }))
        .status,
      404,
    );
  });

  it('8: bob (no group) pulls but may not push', TIMEOUT, async () => {
    const bob = `bob:${lab.keys.bob}`;
    const image = makeImage();
    await pushContent(lab.url, 'e2e/skopeo-bob', image, 'v1', { headers: admin() });
    const dst = path.join(work, 'bob-pull');
    ok(
      await skopeo([
        'copy',
        '--src-tls-verify=false',
        '--src-creds',
        bob,
        ref('e2e/skopeo-bob', 'v1'),
        `oci:${dst}:got`,
      ]),
    );
    refused(await push(makeImage(), 'e2e/skopeo-bob', 'v2', bob), /denied/i);
    assert.equal(await digestOf('e2e/skopeo-bob', 'v2'), undefined);
  });
});
