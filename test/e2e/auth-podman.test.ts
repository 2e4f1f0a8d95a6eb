/**
 * Identity and access through podman (containers/image, like skopeo, but with its own storage and
 * login), with the user's config and keys made after a real OIDC sign-in: anonymous pull, refused
 * anonymous push, `podman login` + CI push, refused overwrite, `podman search` with and without a
 * login, refused push as bob. podman runs
 * with private storage (vfs), a private HOME and auth file, and no system configuration.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireCommand, run, type RunResult } from '../support/clients.js';
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

describe('podman against the user config', () => {
  let lab: Homelab;
  let work: string;
  let bin: string;
  let env: NodeJS.ProcessEnv;
  let archives = 0;

  const admin = (): Record<string, string> => ({
    Authorization: `Basic ${Buffer.from(`alice:${lab.keys.alice}`).toString('base64')}`,
  });
  const ref = (repo: string, tag: string): string => `${lab.host}/${repo}:${tag}`;

  const podman = (args: string[], input?: string): Promise<RunResult> =>
    run(
      bin,
      [
        '--root',
        path.join(work, 'storage'),
        '--runroot',
        path.join(work, 'run'),
        '--storage-driver',
        'vfs',
        '--events-backend',
        'file',
        '--cgroup-manager',
        'cgroupfs',
        ...args,
      ],
      { timeoutMs: 240_000, env, ...(input === undefined ? {} : { input }) },
    );

  function ok(result: RunResult): RunResult {
    assert.equal(result.code, 0, `${result.command}\n${result.stderr}`);
    return result;
  }
  function refused(result: RunResult, pattern: RegExp): void {
    assert.notEqual(result.code, 0, `${result.command} should have failed:\n${result.stdout}`);
    assert.match(result.stderr, pattern);
  }

  /** Loads `image` from an OCI archive into podman's storage as `reference`. */
  async function load(image: Image, reference: string): Promise<void> {
    const archive = path.join(work, `image-${++archives}.tar`);
    await writeFile(archive, ociArchive([{ content: image, tag: 'v1' }]));
    ok(
      await podman([
        'pull',
        '--signature-policy',
        path.join(work, 'policy.json'),
        `oci-archive:${archive}:v1`,
      ]),
    );
    ok(await podman(['tag', image.config.digest.slice('sha256:'.length), reference]));
  }

  const push = (reference: string, extra: string[] = []): Promise<RunResult> =>
    podman([
      'push',
      '--tls-verify=false',
      '--signature-policy',
      path.join(work, 'policy.json'),
      ...extra,
      reference,
    ]);

  async function digestOf(repo: string, tag: string): Promise<string | undefined> {
    const m = await getManifest(lab.url, repo, tag);
    return m.status === 200 ? (m.digestHeader ?? undefined) : undefined;
  }

  before(async () => {
    bin = requireCommand('podman');
    work = await mkdtemp(path.join(tmpdir(), 'e2e-auth-podman-'));
    await mkdir(path.join(work, 'home', '.config', 'containers'), { recursive: true });
    await writeFile(
      path.join(work, 'policy.json'),
      JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }),
    );
    const registries = path.join(work, 'registries.conf');
    await writeFile(registries, 'unqualified-search-registries = []\n');
    env = {
      HOME: path.join(work, 'home'),
      XDG_RUNTIME_DIR: path.join(work, 'run'),
      XDG_CONFIG_HOME: path.join(work, 'home', '.config'),
      REGISTRY_AUTH_FILE: path.join(work, 'auth.json'),
      CONTAINERS_REGISTRIES_CONF: registries,
      CONTAINERS_CONF: path.join(work, 'containers.conf'),
    };
    await writeFile(env.CONTAINERS_CONF!, '');
    // podman insists that a REGISTRY_AUTH_FILE it is pointed at exists.
    await writeFile(env.REGISTRY_AUTH_FILE!, '{"auths":{}}');
    lab = await startHomelab();
  });

  after(async () => {
    await lab?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('1: pulls anonymously', TIMEOUT, async () => {
    const image = makeImage({ platform: hostPlatform(), layerSizes: [2048] });
    await pushContent(lab.url, 'e2e/podman-anon', image, 'v1', { headers: admin() });
    ok(
      await podman([
        'pull',
        '--tls-verify=false',
        '--signature-policy',
        path.join(work, 'policy.json'),
        ref('e2e/podman-anon', 'v1'),
      ]),
    );
    const [inspected] = JSON.parse(
      ok(await podman(['image', 'inspect', ref('e2e/podman-anon', 'v1')])).stdout,
    ) as Array<{ Digest: string }>;
    assert.equal(inspected?.Digest, image.manifest.digest);
  });

  it('2: an anonymous push is refused', TIMEOUT, async () => {
    await load(makeImage({ platform: hostPlatform() }), ref('e2e/podman-noauth', 'v1'));
    refused(await push(ref('e2e/podman-noauth', 'v1')), /authentication required|unauthorized/i);
    assert.equal(await digestOf('e2e/podman-noauth', 'v1'), undefined);
  });

  it('5+6: after `podman login` zot-ci pushes a new tag, and cannot move it', TIMEOUT, async () => {
    refused(
      await podman(
        ['login', '--tls-verify=false', '--username', 'zot-ci', '--password-stdin', lab.host],
        'zak_0123456789abcdef0123456789abcdef',
      ),
      /unauthorized|authentication required|invalid/i,
    );
    ok(
      await podman(
        ['login', '--tls-verify=false', '--username', 'zot-ci', '--password-stdin', lab.host],
        lab.keys['zot-ci'],
      ),
    );
    try {
      const first = makeImage({ platform: hostPlatform() });
      await load(first, ref('e2e/podman-ci', 'v1'));
      ok(await push(ref('e2e/podman-ci', 'v1')));
      const pushed = await digestOf('e2e/podman-ci', 'v1');
      assert.ok(pushed !== undefined);
      await load(makeImage({ platform: hostPlatform() }), ref('e2e/podman-ci', 'v1'));
      refused(await push(ref('e2e/podman-ci', 'v1')), /denied/i);
      assert.equal(await digestOf('e2e/podman-ci', 'v1'), pushed, 'the tag did not move');
    } finally {
      ok(await podman(['logout', lab.host]));
    }
  });

  it('podman search lists as much after `podman login` as without it', TIMEOUT, async () => {
    // The token podman gets at login names no scope; the catalog must follow the caller's policy.
    await pushContent(lab.url, 'e2e/podman-search', makeImage(), 'v1', { headers: admin() });
    const search = async (): Promise<string[]> =>
      ok(
        await podman([
          'search',
          '--tls-verify=false',
          '--limit',
          '1000',
          '--format',
          '{{.Name}}',
          `${lab.host}/`,
        ]),
      )
        .stdout.split('\n')
        .filter((line) => line !== '');
    const anonymous = await search();
    assert.ok(anonymous.includes(`${lab.host}/e2e/podman-search`), anonymous.join('\n'));
    ok(
      await podman(
        ['login', '--tls-verify=false', '--username', 'zot-ci', '--password-stdin', lab.host],
        lab.keys['zot-ci'],
      ),
    );
    try {
      const signedIn = await search();
      assert.deepEqual(signedIn.sort(), anonymous.sort());
    } finally {
      ok(await podman(['logout', lab.host]));
    }
  });

  it('8: bob (no group) may not push', TIMEOUT, async () => {
    await load(makeImage({ platform: hostPlatform() }), ref('e2e/podman-bob', 'v1'));
    refused(await push(ref('e2e/podman-bob', 'v1'), ['--creds', `bob:${lab.keys.bob}`]), /denied/i);
    assert.equal(await digestOf('e2e/podman-bob', 'v1'), undefined);
  });
});
