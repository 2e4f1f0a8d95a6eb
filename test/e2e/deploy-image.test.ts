/**
 * Berth hosts its own image: deploy/Containerfile is built with buildah from a Node base image that
 * this test assembles from the host's node binary and its shared libraries (no registry on the
 * internet is reachable here) and serves from a running Berth; the result is pushed into Berth
 * with skopeo, pulled back, checked (non-root user, HEALTHCHECK on /livez) and run.
 *
 * The build context holds the already compiled dist/ and the production node_modules/, so the
 * Containerfile's build stage takes them instead of running npm (which would need the internet).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireCommand, run, runOk } from '../support/clients.js';
import { PROJECT_ROOT, startBerth, type RunningServer } from '../support/server.js';

const TIMEOUT = { timeout: 300_000 };

/** The shared libraries a binary loads, as `ldd` lists them. */
function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  return [...out.matchAll(/(\/\S+\.so[^\s]*)/g)].map((m) => m[1]!);
}

describe('the container image (deploy/Containerfile)', () => {
  let work: string;
  let berth: RunningServer;
  let buildah: string;
  let skopeo: string;
  let storage: string[];

  before(async () => {
    buildah = requireCommand('buildah');
    skopeo = requireCommand('skopeo');
    work = await mkdtemp(path.join(tmpdir(), 'e2e-image-'));
    storage = [
      '--root',
      path.join(work, 'storage'),
      '--runroot',
      path.join(work, 'run'),
      '--storage-driver',
      'vfs',
    ];
    berth = await startBerth();
  });

  after(async () => {
    await berth?.stop();
    if (work !== undefined) {
      // vfs layers are plain folders, some read-only: let buildah remove its own storage first.
      await run(buildah, [...storage, 'rm', '--all']);
      await run(buildah, [...storage, 'rmi', '--all', '--force']);
      await rm(work, { recursive: true, force: true });
    }
  });

  it('builds from a base served by Berth, is pushed with skopeo, pulled back and runs', TIMEOUT, async () => {
    const policy = path.join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    await writeFile(path.join(work, 'auth.json'), '{"auths":{}}');
    const env = { HOME: work, REGISTRY_AUTH_FILE: path.join(work, 'auth.json') };
    const opts = { env, timeoutMs: 240_000 };

    // 1. A minimal Node runtime image: the host's node, /bin/sh, and the libraries they load.
    const base = path.join(work, 'base');
    const rootfs = path.join(base, 'rootfs');
    await mkdir(path.join(rootfs, 'usr/local/bin'), { recursive: true });
    await mkdir(path.join(rootfs, 'bin'), { recursive: true });
    await mkdir(path.join(rootfs, 'tmp'), { recursive: true });
    await cp(process.execPath, path.join(rootfs, 'usr/local/bin/node'), { dereference: true });
    await cp('/bin/sh', path.join(rootfs, 'bin/sh'), { dereference: true });
    for (const lib of new Set([...sharedLibraries(process.execPath), ...sharedLibraries('/bin/sh')]))
      await cp(lib, path.join(rootfs, lib), { dereference: true });
    await writeFile(
      path.join(base, 'Containerfile'),
      'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/bin:/usr/bin:/bin\nCMD ["node"]\n',
    );
    await runOk(buildah, [...storage, 'bud', '--isolation', 'chroot', '-t', 'test-node-base', base], opts);
    const baseLayout = path.join(work, 'base-layout');
    await runOk(buildah, [...storage, 'push', 'test-node-base', `oci:${baseLayout}:20`], opts);
    const baseRef = `${berth.host}/test/node:20`;
    await runOk(
      skopeo,
      ['--policy', policy, 'copy', '--dest-tls-verify=false', `oci:${baseLayout}:20`, `docker://${baseRef}`],
      opts,
    );

    // 2. The build context: sources, the Containerfile, and the compiled output with production modules.
    const context = path.join(work, 'context');
    for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'deploy'])
      await cp(path.join(PROJECT_ROOT, entry), path.join(context, entry), { recursive: true });
    await cp(path.join(PROJECT_ROOT, 'dist/src'), path.join(context, 'dist/src'), {
      recursive: true,
      filter: (source) => !source.endsWith('.test.js'),
    });
    const production = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((line) => line.includes(`${path.sep}node_modules${path.sep}`));
    for (const dir of production)
      await cp(dir, path.join(context, path.relative(PROJECT_ROOT, dir)), {
        recursive: true,
        dereference: true,
      });

    // 3. Build with the base from Berth, push the result into Berth with skopeo.
    await runOk(
      buildah,
      [
        ...storage,
        'bud',
        '--isolation',
        'chroot',
        '--format',
        'docker',
        '--tls-verify=false',
        '--build-arg',
        `BASE=${baseRef}`,
        '-f',
        path.join(context, 'deploy/Containerfile'),
        '-t',
        'berth-under-test',
        context,
      ],
      opts,
    );
    const built = path.join(work, 'built');
    await runOk(buildah, [...storage, 'push', '--format', 'v2s2', 'berth-under-test', `dir:${built}`], opts);
    const imageRef = `docker://${berth.host}/berth/berth:test`;
    await runOk(
      skopeo,
      ['--policy', policy, 'copy', '--dest-tls-verify=false', `dir:${built}`, imageRef],
      opts,
    );

    // 4. Pulled back: not root, a health check on /livez, and it runs.
    const inspected = await runOk(
      skopeo,
      ['--policy', policy, 'inspect', '--tls-verify=false', '--config', '--raw', imageRef],
      opts,
    );
    const config = (
      JSON.parse(inspected.stdout) as {
        config: { User?: string; Healthcheck?: { Test?: string[] }; Entrypoint?: string[] };
      }
    ).config;
    assert.equal(config.User, '65532:65532');
    assert.match((config.Healthcheck?.Test ?? []).join(' '), /\/livez/);
    assert.deepEqual(config.Entrypoint, ['node', '/opt/berth/dist/src/cli/main.js']);
    const container = (
      await runOk(buildah, [...storage, 'from', '--pull-always', '--tls-verify=false', imageRef], opts)
    ).stdout.trim();
    const version = await runOk(
      buildah,
      [
        ...storage,
        'run',
        '--isolation',
        'chroot',
        container,
        '--',
        'node',
        '/opt/berth/dist/src/cli/main.js',
        'verify',
        '/etc/berth/config.json',
      ],
      opts,
    );
    assert.match(version.stdout, /configuration is valid/);
  });
});
