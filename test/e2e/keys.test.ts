/**
 * Service-account keys without a browser: `berth keys create` for zot-ci with the group
 * artifact-workloads, then skopeo pushes with that key where the group may push (and nowhere else);
 * `berth keys list` shows it, the expiry metric reports it, `berth keys revoke` ends it (401). The
 * admin route creates keys for admins only; a key expiring within a week is flagged in the log at
 * start and in the admin listing.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { requireCommand, run, type RunResult } from '../support/clients.js';
import { makeImage, writeOciLayout } from '../support/fixtures.js';
import { CLI, startBerth, type RunningServer } from '../support/server.js';

const TIMEOUT = { timeout: 180_000 };
const basic = (user: string, password: string): Record<string, string> => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('berth keys: service-account API keys', () => {
  let work: string;
  let configPath: string;
  let berth: RunningServer;
  let ciKey: string;
  let ciKeyId: string;
  let layouts = 0;

  const berthCli = (args: string[]): Promise<RunResult> => run(process.execPath, [CLI, ...args]);
  const skopeoPush = async (repo: string, creds: string): Promise<RunResult> => {
    const env = { HOME: work, REGISTRY_AUTH_FILE: path.join(work, 'auth.json') };
    const layout = await writeOciLayout(path.join(work, `layout-${++layouts}`), [
      { content: makeImage({ layerSizes: [2048] }), tag: 'v1' },
    ]);
    return run(
      requireCommand('skopeo'),
      [
        '--policy',
        path.join(work, 'policy.json'),
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        creds,
        `oci:${layout}:v1`,
        `docker://${berth.host}/${repo}:v1`,
      ],
      { env, timeoutMs: 120_000 },
    );
  };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-keys-'));
    const root = path.join(work, 'data');
    await mkdir(root);
    const htpasswd = path.join(work, 'htpasswd');
    await writeFile(
      htpasswd,
      `alice:${bcrypt.hashSync('alice-secret', 4)}\nbob:${bcrypt.hashSync('bob-secret', 4)}\n`,
    );
    await writeFile(
      path.join(work, 'policy.json'),
      JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }),
    );
    const config = {
      storage: { rootDirectory: root },
      http: {
        address: '127.0.0.1',
        port: '0',
        auth: { htpasswd: { path: htpasswd }, apikey: true },
        accessControl: {
          repositories: {
            'ci/**': {
              policies: [{ groups: ['artifact-workloads'], actions: ['read', 'create', 'update'] }],
            },
          },
          adminPolicy: { users: ['alice'], actions: ['read', 'create', 'update', 'delete'] },
          metrics: { users: ['alice'] },
        },
      },
      extensions: { metrics: { enable: true } },
    };
    configPath = path.join(work, 'config.json');
    await writeFile(configPath, JSON.stringify(config));
    // A key made before the server starts, expiring in 3 days: the start-up check warns about it.
    const soon = await berthCli([
      'keys',
      'create',
      configPath,
      '--user',
      'renovate',
      '--expires',
      '3d',
      '--label',
      'soon',
    ]);
    assert.equal(soon.code, 0, soon.stderr);
    berth = await startBerth({ root, config });
  });

  after(async () => {
    await berth?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('warns at start about a key expiring within a week', () => {
    assert.match(berth.output(), /"user":"renovate"[^\n]*expires within a week/);
  });

  it(
    '`berth keys create` prints a key once; skopeo pushes with it where its group may',
    TIMEOUT,
    async () => {
      const created = await berthCli([
        'keys',
        'create',
        configPath,
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
      ciKey = created.stdout.trim();
      assert.match(ciKey, /^zak_[0-9a-f]{32}$/);
      assert.match(created.stderr, /shown only this once/);
      const pushed = await skopeoPush('ci/app', `zot-ci:${ciKey}`);
      assert.equal(pushed.code, 0, pushed.stderr);
      const elsewhere = await skopeoPush('other/app', `zot-ci:${ciKey}`);
      assert.notEqual(elsewhere.code, 0, 'the group grants ci/** only');
    },
  );

  it('`berth keys list` shows the key with its groups; the metric reports its expiry', async () => {
    const list = await berthCli(['keys', 'list', configPath, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const keys = (JSON.parse(list.stdout) as { apiKeys: { id: string; owner: string; groups: string[] }[] })
      .apiKeys;
    const ci = keys.find((k) => k.owner === 'zot-ci');
    assert.deepEqual(ci?.groups, ['artifact-workloads']);
    ciKeyId = ci.id;
    const metrics = await (
      await fetch(`${berth.url}/metrics`, { headers: basic('alice', 'alice-secret') })
    ).text();
    const line = metrics
      .split('\n')
      .find((l) => l.startsWith('berth_apikey_expiry_timestamp_seconds{user="zot-ci",label="ci"}'));
    assert.ok(line, metrics);
    const seconds = Number(line.split(' ')[1]);
    const days = (seconds * 1000 - Date.now()) / 86_400_000;
    assert.ok(days > 89 && days <= 90, `${days} days`);
  });

  it('`berth keys revoke` ends the key: 401', TIMEOUT, async () => {
    const revoked = await berthCli(['keys', 'revoke', configPath, ciKeyId]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const res = await fetch(`${berth.url}/v2/ci/app/tags/list`, { headers: basic('zot-ci', ciKey) });
    assert.equal(res.status, 401);
    const pushed = await skopeoPush('ci/app2', `zot-ci:${ciKey}`);
    assert.notEqual(pushed.code, 0);
    assert.equal((await berthCli(['keys', 'revoke', configPath, ciKeyId])).code, 1);
  });

  it('the admin route creates, lists and revokes keys for admins only', async () => {
    const url = `${berth.url}/berth/admin/apikeys`;
    const body = JSON.stringify({
      user: 'svc',
      groups: ['artifact-workloads'],
      label: 'deploy',
      expires: '5d',
    });
    const refused = await fetch(url, { method: 'POST', headers: basic('bob', 'bob-secret'), body });
    assert.equal(refused.status, 403);
    const created = await fetch(url, { method: 'POST', headers: basic('alice', 'alice-secret'), body });
    assert.equal(created.status, 201);
    const key = (await created.json()) as {
      apiKey: string;
      uuid: string;
      groups: string[];
      expiresSoon: boolean;
    };
    assert.deepEqual(key.groups, ['artifact-workloads']);
    assert.equal(key.expiresSoon, true);
    assert.equal(
      (await fetch(`${berth.url}/v2/ci/x/tags/list`, { headers: basic('svc', key.apiKey) })).status,
      404,
    );
    const listed = (await (await fetch(url, { headers: basic('alice', 'alice-secret') })).json()) as {
      apiKeys: { uuid: string; user: string; createdBy: string }[];
    };
    assert.equal(listed.apiKeys.find((k) => k.uuid === key.uuid)?.createdBy, 'alice');
    assert.equal((await fetch(url, { headers: basic('bob', 'bob-secret') })).status, 403);
    const del = await fetch(`${url}?id=${key.uuid}`, {
      method: 'DELETE',
      headers: basic('alice', 'alice-secret'),
    });
    assert.equal(del.status, 200);
    assert.equal(
      (await fetch(`${berth.url}/v2/ci/x/tags/list`, { headers: basic('svc', key.apiKey) })).status,
      401,
    );
  });
});
