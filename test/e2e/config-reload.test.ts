/**
 * Live reload of the configuration file, as zot: a client keeps a keep-alive connection open while
 * the access policy is edited on disk; its next request sees the new policy, on the same
 * connection. An invalid edit is refused with a log line naming the key, and the policy in force
 * stays. SIGHUP reloads too.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { getManifest, makeImage, pushContent } from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';

const PASSWORDS = { alice: 'alice-secret', bob: 'bob-secret' } as const;

describe('configuration reload', () => {
  let work: string;
  let berth: RunningServer;
  let agent: Agent;
  let firstSocket: Socket | undefined;

  const policy = (pushers: string[]): Record<string, unknown> => ({
    repositories: { 'team/**': { policies: [{ users: pushers, actions: ['read', 'create', 'update'] }] } },
  });
  const writeConfig = async (accessControl: unknown): Promise<void> => {
    const config = JSON.parse(await readFile(berth.configPath, 'utf8')) as { http: Record<string, unknown> };
    config.http.accessControl = accessControl;
    await writeFile(berth.configPath, JSON.stringify(config, null, 2));
  };
  /** Starts an upload as `user` over the keep-alive connection: 202 allowed, 403 refused. */
  const startUpload = (user: keyof typeof PASSWORDS): Promise<{ status: number; socket: Socket }> =>
    new Promise((resolve, reject) => {
      const req = request(
        `${berth.url}/v2/team/app/blobs/uploads/`,
        {
          method: 'POST',
          agent,
          headers: { Authorization: `Basic ${Buffer.from(`${user}:${PASSWORDS[user]}`).toString('base64')}` },
        },
        (res) => {
          const socket = res.socket;
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, socket }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  /** Asks until the answer is `want` (the file watcher debounces), at most ~20 s. */
  const eventually = async (user: keyof typeof PASSWORDS, want: number): Promise<number> => {
    let got = 0;
    for (let i = 0; i < 100; i++) {
      const answer = await startUpload(user);
      got = answer.status;
      assert.equal(answer.socket, firstSocket, 'the keep-alive connection was replaced');
      if (got === want) break;
      await sleep(200);
    }
    return got;
  };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-reload-'));
    const htpasswd = path.join(work, 'htpasswd');
    await writeFile(
      htpasswd,
      Object.entries(PASSWORDS)
        .map(([user, password]) => `${user}:${bcrypt.hashSync(password, 4)}`)
        .join('\n') + '\n',
    );
    berth = await startBerth({
      config: { http: { auth: { htpasswd: { path: htpasswd } }, accessControl: policy(['alice']) } },
    });
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await startUpload('alice');
    assert.equal(first.status, 202);
    firstSocket = first.socket;
  });

  after(async () => {
    agent?.destroy();
    await berth?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('applies a policy edited on disk to the next request of an open connection', async () => {
    assert.equal((await startUpload('bob')).status, 403);
    await writeConfig(policy(['alice', 'bob']));
    assert.equal(await eventually('bob', 202), 202);
    assert.match(berth.output(), /configuration reloaded/);
  });

  it('refuses an invalid edit naming the key, and keeps the policy in force', async () => {
    await writeConfig({
      repositories: { 'team/**': { policies: [{ users: ['alice'], actions: ['read'] }], defaultPolicy: 5 } },
    });
    let output = '';
    for (let i = 0; i < 100 && !output.includes('configuration refused'); i++) {
      await sleep(200);
      output = berth.output();
    }
    const line = output.split('\n').find((l) => l.includes('configuration refused'));
    assert.ok(line, output);
    assert.equal(
      (JSON.parse(line) as { key: string }).key,
      'http.accessControl.repositories["team/**"].defaultPolicy',
    );
    // bob's right from the previous (valid) edit stays.
    assert.equal((await startUpload('bob')).status, 202);
  });

  it('reloads on SIGHUP', async () => {
    await writeConfig(policy(['alice']));
    berth.proc.kill('SIGHUP');
    assert.equal(await eventually('bob', 403), 403);
    assert.equal((await startUpload('alice')).status, 202);
    assert.match(berth.output(), /"reason":"SIGHUP"[^\n]*"msg":"configuration reloaded"/);
  });

  it('turns API keys on, and names a key that needs a restart', async () => {
    const keys = async (): Promise<number> =>
      (
        await fetch(`${berth.url}/zot/auth/apikey`, {
          headers: { Authorization: `Basic ${Buffer.from(`alice:${PASSWORDS.alice}`).toString('base64')}` },
        })
      ).status;
    assert.equal(await keys(), 404);
    const config = JSON.parse(await readFile(berth.configPath, 'utf8')) as {
      http: { auth: Record<string, unknown>; realm?: string };
    };
    config.http.auth.apikey = true;
    config.http.realm = 'changed';
    await writeFile(berth.configPath, JSON.stringify(config, null, 2));
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = await keys();
      if (status !== 200) await sleep(200);
    }
    assert.equal(status, 200);
    assert.match(berth.output(), /"key":"http\.realm"[^\n]*takes effect after a restart/);
  });
});

describe('configuration reload: sync', () => {
  let upstream: RunningServer;
  let berth: RunningServer;

  const writeSync = async (sync: unknown): Promise<void> => {
    const config = JSON.parse(await readFile(berth.configPath, 'utf8')) as Record<string, unknown>;
    if (sync === undefined) delete config.extensions;
    else config.extensions = { sync };
    await writeFile(berth.configPath, JSON.stringify(config, null, 2));
  };
  /** Asks until the manifest's status is `want`, at most ~20 s. */
  const manifestStatus = async (
    reference: string,
    want: number,
    repo = 'mirror/library/app',
  ): Promise<number> => {
    let got = 0;
    for (let i = 0; i < 100; i++) {
      got = (await getManifest(berth.url, repo, reference)).status;
      if (got === want) break;
      await sleep(200);
    }
    return got;
  };

  before(async () => {
    upstream = await startBerth();
    berth = await startBerth();
  });

  after(async () => {
    await berth?.stop();
    await upstream?.stop();
  });

  it('turns a pull-through cache on and off without a restart', async () => {
    const first = makeImage({ layerSizes: [1024] });
    await pushContent(upstream.url, 'library/app', first, 'v1');
    assert.equal((await getManifest(berth.url, 'mirror/library/app', 'v1')).status, 404);
    await writeSync({
      registries: [
        {
          urls: [upstream.url],
          onDemand: true,
          tlsVerify: false,
          content: [{ prefix: '**', destination: '/mirror' }],
        },
      ],
    });
    assert.equal(await manifestStatus('v1', 200), 200);
    const got = await getManifest(berth.url, 'mirror/library/app', 'v1');
    assert.equal(got.digestHeader, first.manifest.digest);

    // A change while sync is on replaces the extension (here: another destination).
    await writeSync({
      registries: [
        {
          urls: [upstream.url],
          onDemand: true,
          tlsVerify: false,
          content: [{ prefix: '**', destination: '/cache' }],
        },
      ],
    });
    assert.equal(await manifestStatus('v1', 200, 'cache/library/app'), 200);

    await writeSync(undefined);
    const second = makeImage({ layerSizes: [1024] });
    await pushContent(upstream.url, 'library/app', second, 'v2');
    let reloads = 0;
    for (let i = 0; i < 100 && reloads < 3; i++) {
      reloads = berth.output().split('configuration reloaded').length - 1;
      if (reloads < 3) await sleep(200);
    }
    assert.equal(reloads, 3, berth.output());
    assert.equal((await getManifest(berth.url, 'mirror/library/app', 'v2')).status, 404);
    // What was cached stays.
    assert.equal((await getManifest(berth.url, 'mirror/library/app', 'v1')).status, 200);
  });
});
