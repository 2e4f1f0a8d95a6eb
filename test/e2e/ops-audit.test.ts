/**
 * The audit log of the real server (`log.audit`) through a full push/delete session made with a
 * real client (skopeo, our first user's CI push path) under the homelab's access rules: one JSON
 * line per push, delete, denial and refused sign-in, saying who, what, when and from where.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireCommand, run, runOk } from '../support/clients.js';
import { makeImage, writeOciLayout } from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';
import { writeHtpasswd } from '../support/htpasswd.js';

const PASSWORDS = { ci: 'ci-secret', admin: 'admin-secret', reader: 'reader-secret' };

async function readAudit(file: string): Promise<Record<string, unknown>[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Waits for an entry: a request is recorded once its response closed, a moment after the client read it. */
async function auditUntil(
  file: string,
  done: (entries: Record<string, unknown>[]) => boolean,
): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const entries = await readAudit(file);
    if (done(entries) || Date.now() > deadline) return entries;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('audit log (real server, skopeo, homelab access rules)', () => {
  let work: string;
  let server: RunningServer;
  let auditFile: string;
  let policy: string;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-audit-'));
    auditFile = path.join(work, 'audit', 'audit.log');
    policy = path.join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const htpasswd = path.join(work, 'htpasswd');
    await writeHtpasswd(htpasswd, PASSWORDS);
    server = await startBerth({
      config: {
        log: { level: 'info', audit: auditFile },
        http: {
          auth: { htpasswd: { path: htpasswd } },
          accessControl: {
            groups: { 'artifact-workloads': { users: ['ci'] }, admins: { users: ['admin'] } },
            repositories: {
              '**': {
                policies: [
                  { groups: ['artifact-workloads'], actions: ['read', 'create'] },
                  { groups: ['admins'], actions: ['read', 'create', 'update', 'delete'] },
                ],
                anonymousPolicy: ['read'],
                defaultPolicy: ['read'],
              },
            },
          },
        },
      },
    });
  });

  after(async () => {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it(
    'records who pushed, deleted and was refused, with what, when and from where',
    { timeout: 300_000 },
    async () => {
      const skopeo = requireCommand('skopeo');
      const image = makeImage({ layerSizes: [50_000, 2_000] });
      const layout = await writeOciLayout(path.join(work, 'layout'), [{ content: image, tag: 'v1' }]);
      const started = Date.now();
      const dest = `docker://${server.host}/ci/service:v1`;
      const withPolicy = ['--policy', policy];

      await runOk(
        skopeo,
        [
          ...withPolicy,
          'copy',
          '--dest-tls-verify=false',
          '--dest-creds',
          `ci:${PASSWORDS.ci}`,
          `oci:${layout}:v1`,
          dest,
        ],
        {
          timeoutMs: 240_000,
        },
      );
      const refused = await run(
        skopeo,
        [
          ...withPolicy,
          'copy',
          '--dest-tls-verify=false',
          '--dest-creds',
          `reader:${PASSWORDS.reader}`,
          `oci:${layout}:v1`,
          `docker://${server.host}/ci/other:v1`,
        ],
        { timeoutMs: 240_000 },
      );
      assert.notEqual(refused.code, 0, 'a read-only user cannot push');
      await runOk(
        skopeo,
        [...withPolicy, 'delete', '--tls-verify=false', '--creds', `admin:${PASSWORDS.admin}`, dest],
        { timeoutMs: 60_000 },
      );
      const wrong = await fetch(`${server.url}/v2/ci/service/tags/list`, {
        headers: { Authorization: `Basic ${Buffer.from('ci:not-the-password').toString('base64')}` },
      });
      assert.equal(wrong.status, 401);

      const entries = await auditUntil(auditFile, (all) => all.some((e) => e.action === 'manifest.delete'));
      const by = (action: string) => entries.filter((e) => e.action === action);
      assert.deepEqual(
        by('blob.push')
          .map((e) => [e.user, e.digest])
          .sort(),
        image.blobs.map((b) => ['ci', b.digest]).sort(),
        'one line per blob the CI account uploaded',
      );
      const [push] = by('manifest.push');
      assert.deepEqual(
        [push?.user, push?.repo, push?.reference, push?.digest, push?.status],
        ['ci', 'ci/service', 'v1', image.manifest.digest, 201],
      );
      const [del] = by('manifest.delete');
      assert.deepEqual(
        [del?.user, del?.repo, del?.reference, del?.status],
        ['admin', 'ci/service', image.manifest.digest, 202],
      );
      assert.ok(by('access.denied').length > 0, JSON.stringify(entries, null, 2));
      assert.ok(
        by('access.denied').every((e) => e.user === 'reader' && e.repo === 'ci/other' && e.status === 403),
      );
      assert.ok(
        by('auth.signin-failed').some((e) => e.user === 'ci'),
        'the wrong password was recorded by authentication',
      );
      assert.equal(entries.filter((e) => e.action === 'manifest.push' && e.repo === 'ci/other').length, 0);
      for (const entry of entries) {
        assert.match(String(entry.client), /^(::ffff:)?127\.0\.0\.1$/, JSON.stringify(entry));
        const when = Date.parse(String(entry.time));
        assert.ok(when >= started - 1000 && when <= Date.now() + 1000);
      }
    },
  );
});
